# Sourced by bench/run_fuse_benchmarks.sh and bench/run_db_benchmarks.sh:
# mounting and unmounting the targets both compare, so they are set up the
# same way in both. The caller sets HOODYFS (the hoodyfs binary), SCRATCH
# (its scratch directory) and CLEANUP (an array of commands its exit trap
# runs, last added first) before sourcing, and calls mount_<target>, which
# sets DIR[target] (where workloads go) and queues its own unmount.
#   env: HOODYFS_MOUNT_OPTS (added to `hoodyfs mount`, e.g. "-o writeback_cache"),
#   OVERLAY_EXTRA_OPTS (added to fuse-overlayfs's -o, e.g. ",allow_other").

umount_left() {  # umount_left DIR: lazily unmounts whatever is still mounted under DIR
  local m
  for m in $(awk -v d="$1" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    echo "!! $m still mounted: umount -l" >&2
    umount -l "$m"
  done
}

# --- targets: mount_<t> sets DIR[t] (where workloads go) -------------------
declare -A DIR
HOODY_STORE=$SCRATCH/hoodyfs/store
HOODY_MP=$SCRATCH/hoodyfs/mnt

# Unmounts a hoodyfs mount and waits for the daemon the mount started;
# if either hangs, aborts the mount's FUSE connection and stops the daemon.
hoodyfs_umount() {  # hoodyfs_umount MOUNTPOINT STORE
  local mp=$1 store=$2 pid i dev=""
  pid=$(cat "$store/daemon.pid" 2> /dev/null)
  if mountpoint -q "$mp"; then
    dev=$(mountpoint -d "$mp")
    timeout 60 "$HOODYFS" umount "$mp" || echo "!! hoodyfs umount $mp failed" >&2
  fi
  for ((i = 0; i < 100; i++)); do
    [[ -n $pid ]] && kill -0 "$pid" 2> /dev/null || return 0
    sleep 0.1
  done
  echo "!! daemon $pid still running after umount: aborting its connection, stopping it" >&2
  abort_fuse "$dev"
  mountpoint -q "$mp" && umount -l "$mp"
  kill "$pid"
}
abort_fuse() {  # abort_fuse MAJOR:MINOR (a FUSE connection's device)
  [[ -n $1 ]] || return 0
  mountpoint -q /sys/fs/fuse/connections || mount -t fusectl fusectl /sys/fs/fuse/connections
  echo 1 > "/sys/fs/fuse/connections/${1#*:}/abort"
}

mount_ext4() { mkdir -p "$SCRATCH/ext4"; DIR[ext4]=$SCRATCH/ext4; }
mount_hoodyfs() {
  mkdir -p "$HOODY_MP"
  "$HOODYFS" --store "$HOODY_STORE" init > /dev/null || return 1
  CLEANUP+=("hoodyfs_umount $HOODY_MP $HOODY_STORE")
  # shellcheck disable=SC2086  # HOODYFS_MOUNT_OPTS is a word list
  "$HOODYFS" --store "$HOODY_STORE" mount -c c --create ${HOODYFS_MOUNT_OPTS:-} "$HOODY_MP" || return 1
  DIR[hoodyfs]=$HOODY_MP
}
mount_fuse-overlayfs() {
  command -v fuse-overlayfs > /dev/null || return 1
  local d=$SCRATCH/overlay
  mkdir -p "$d/lower" "$d/upper" "$d/work" "$d/mnt"
  fuse-overlayfs -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work${OVERLAY_EXTRA_OPTS:-}" \
    "$d/mnt" || return 1
  CLEANUP+=("umount $d/mnt")
  DIR[fuse-overlayfs]=$d/mnt
}


# Mounts every target of TARGETS; ACTIVE lists those that came up (a missing
# tool or a failed mount drops its target, with a line in machine.txt).
mount_targets() {
  local t
  ACTIVE=()
  for t in $TARGETS; do
    if "mount_$t"; then
      ACTIVE+=("$t")
    else
      echo "!! target $t unavailable: skipped" | tee -a "$OUT/machine.txt"
    fi
  done
  log "targets: ${ACTIVE[*]}"
  findmnt -rn -o TARGET,FSTYPE,OPTIONS | grep "$SCRATCH" >> "$OUT/machine.txt"
}
