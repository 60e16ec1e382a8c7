# Bash completion for hoodyfs and hoodyfs-snap (docs/cli.md).
# Installed by scripts/install.sh into /etc/bash_completion.d/hoodyfs;
# or: source scripts/completion/hoodyfs.bash
#
# Container and snapshot names come from the store: --store on the command
# line, else $HOODYFS_STORE, else /var/lib/hoodyfs.

_hoodyfs_store() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    if [[ ${COMP_WORDS[i]} == --store ]]; then
      echo "${COMP_WORDS[i + 1]}"
      return
    fi
  done
  echo "${HOODYFS_STORE:-/var/lib/hoodyfs}"
}

_hoodyfs_containers() {
  hoodyfs-snap --store "$(_hoodyfs_store)" containers list 2>/dev/null | awk 'NR > 1 {print $1}'
}

# Names and aliases of the snapshots of the container after -c.
_hoodyfs_snapshots() {
  local i c=
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    [[ ${COMP_WORDS[i]} == -c || ${COMP_WORDS[i]} == --container ]] && c=${COMP_WORDS[i + 1]}
  done
  [[ -n $c ]] || return
  hoodyfs-snap --store "$(_hoodyfs_store)" list -c "$c" 2>/dev/null |
    awk 'NR > 1 {print $1; if ($2 != "-") print $2}'
}

# The first word that is no option (or an option's value): the command.
_hoodyfs_command() {
  local i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --store) ((i++)) ;;
      -*) ;;
      *)
        echo "$w"
        return
        ;;
    esac
  done
}

_hoodyfs_snap() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd
  cmd=$(_hoodyfs_command)
  case $prev in
    --store) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    -c | --container) COMPREPLY=($(compgen -W "$(_hoodyfs_containers)" -- "$cur")); return ;;
    --name | --source-snapshot | --good | --bad)
      if [[ $cmd != copy || $prev != --name ]]; then
        COMPREPLY=($(compgen -W "$(_hoodyfs_snapshots)" -- "$cur"))
      fi
      return
      ;;
    --expiry) COMPREPLY=($(compgen -W "1 7 30 never" -- "$cur")); return ;;
  esac
  local opts
  case $cmd in
    "") opts="create list show set restore delete diff copy containers bisect gc scrub --store --help" ;;
    create) opts="-c --container --alias --expiry --json" ;;
    list) opts="-c --container --json" ;;
    show) opts="-c --container --name --json" ;;
    set) opts="-c --container --name --alias --expiry" ;;
    restore) opts="-c --container --name --discard-head --json" ;;
    delete) opts="-c --container --name" ;;
    diff) opts="-c --container --json $(_hoodyfs_snapshots)" ;;
    copy) opts="-c --container --source-snapshot --name --project --json" ;;
    containers) opts="list create delete" ;;
    bisect) opts="-c --container --good --bad --chroot --json --" ;;
    gc) opts="--json" ;;
    scrub) opts="--json --max-rate --detach --status --cancel" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}

_hoodyfs() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local cmd
  cmd=$(_hoodyfs_command)
  case $prev in
    --store | --token-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    -c | --container) COMPREPLY=($(compgen -W "$(_hoodyfs_containers)" -- "$cur")); return ;;
    --snapshot) COMPREPLY=($(compgen -W "$(_hoodyfs_snapshots)" -- "$cur")); return ;;
    -o) COMPREPLY=($(compgen -W "ro rw nosuid nodev noexec writeback_cache fuse_uring no_fuse_uring" -- "$cur")); return ;;
  esac
  local opts
  case $cmd in
    "") opts="init mount umount serve import export fsck scrub compact --store --help" ;;
    mount) opts="-c --container --create --snapshot -o -f --foreground" ;;
    umount) COMPREPLY=($(compgen -W "$(awk '$3 == "fuse.hoodyfs" {print $2}' /proc/mounts)" -- "$cur")); return ;;
    serve) opts="--listen --token-file --gc-interval --exit-when-idle" ;;
    import) opts="-c --container --create" ;;
    export) opts="-c --container --snapshot" ;;
    fsck) opts="--data" ;;
    scrub) opts="--json --max-rate --detach --status --cancel" ;;
  esac
  if [[ $cur == -* || -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$opts" -- "$cur") $(compgen -d -- "$cur"))
  fi
}

complete -F _hoodyfs_snap hoodyfs-snap
complete -F _hoodyfs hoodyfs
