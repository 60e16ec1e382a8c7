#!/usr/bin/env bash
# Send and receive against tar (issue 13), whole commands as a user runs them.
#
# Stage "root": a Debian root (scripts/debian-root-cache.sh's bookworm
# minbase with git, unpacked on the host) is imported into store A and
# snapshotted; then, alternated REPS times, `tar c | tar x` of the unpacked
# root into a fresh directory (with -p, --xattrs and --numeric-owner, so tar
# carries what a stream carries) against `send | receive` into a fresh
# store, plus the two halves alone (`send -o FILE`, `receive -i FILE`). The
# first received copy is exported and compared with the root.
#
# Stage "incremental": a tree of FILES small files (1000 per directory) is
# imported into a container and snapshotted (S1); 100 of its files are
# appended to, `import --replace` carries just those into the container, and
# a second snapshot is taken (S2); then `send --from S1 --name S2 -o FILE`
# is timed REPS times (the issue's target: under 100 ms at 1M files, the
# process's start and the store's open included), and the stream received
# on top of a store that holds S1.
#
# usage: bench/send_receive_bench.sh BUILD_DIR OUT_DIR
#   env: STAGES ("root incremental"), REPS (5), FILES (1000000),
#        DEBIAN_TAR (the cache's minbase-git tar), SCRATCH_PARENT (/var/tmp)
# Writes OUT_DIR/send_receive.tsv (what, rep, seconds, load) and prints it.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
STAGES=${STAGES:-"root incremental"}
REPS=${REPS:-5}
FILES=${FILES:-1000000}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
standalone_setup send-receive

printf 'what\trep\tseconds\tload\n' > "$OUT/send_receive.tsv"
timed() {  # timed WHAT REP CMD...: runs CMD, appends its wall time
  local what=$1 rep=$2 t0 load
  shift 2
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$EPOCHREALTIME
  "$@" > /dev/null
  printf '%s\t%s\t%s\t%s\n' "$what" "$rep" "$(since "$t0")" "$load" >> "$OUT/send_receive.tsv"
}

# same_tree A B: fails, saying where, unless A and B hold the same names with
# the same types, modes, owners, mtimes, link targets and device numbers, the
# same sizes (but a directory's, which is the host's own) and the same bytes
# (diff -r cannot compare device nodes).
same_tree() {
  list() {
    (cd "$1" && find . -type d -print0 | sort -z | xargs -0 stat -c '%N %F %a %u %g %.9Y' &&
      find . ! -type d -print0 | sort -z | xargs -0 stat -c '%N %F %a %u %g %s %.9Y %t:%T')
  }
  if ! diff <(list "$1") <(list "$2") >&2 || ! diff -r --no-dereference -x dev "$1" "$2" >&2; then
    echo "!! $2 differs from $1" >&2
    return 1
  fi
}

if has_stage root; then
  if [ -z "${DEBIAN_TAR:-}" ]; then
    cache=$("$repo/scripts/debian-root-cache.sh" | awk '{print $2}')
    DEBIAN_TAR="$cache/debian-bookworm-minbase-git.tar"
  fi
  root="$SCRATCH/root"
  mkdir "$root"
  tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -xpf "$DEBIAN_TAR"
  log "root $DEBIAN_TAR: $(find "$root" | wc -l) entries, $(du -sm "$root" | cut -f1) MiB"
  "$HOODYFS" init --store "$SCRATCH/a" > /dev/null
  "$HOODYFS" import --store "$SCRATCH/a" -c root --create "$root" > /dev/null
  "$SNAP" --store "$SCRATCH/a" create -c root --alias base > /dev/null
  sync
  tarx() { tar -C "$root" --numeric-owner --xattrs --xattrs-include='*' -cf - . |
    tar -C "$1" --numeric-owner --xattrs --xattrs-include='*' -xpf -; }
  # Nothing is deleted until the last repetition is done: ext4 looks hard
  # for a free inode while many were deleted in the last few seconds
  # (recently_deleted() in perf), which made tar x of the root 7x slower
  # right after an rm -rf of the previous copy.
  for ((rep = 1; rep <= REPS; rep++)); do
    log "root, repetition $rep"
    mkdir "$SCRATCH/tar-$rep"
    timed "root tar c | tar x" "$rep" tarx "$SCRATCH/tar-$rep"
    timed "root sync after tar x" "$rep" sync -f "$SCRATCH/tar-$rep"
    "$HOODYFS" init --store "$SCRATCH/b-$rep" > /dev/null
    timed "root send | receive" "$rep" bash -c \
      "'$SNAP' --store '$SCRATCH/a' send -c root --name base | '$SNAP' --store '$SCRATCH/b-$rep' receive -c root"
    timed "root send -o FILE" "$rep" "$SNAP" --store "$SCRATCH/a" send -c root --name base \
      -o "$SCRATCH/root-$rep.stream"
    "$HOODYFS" init --store "$SCRATCH/c-$rep" > /dev/null
    timed "root receive -i FILE" "$rep" "$SNAP" --store "$SCRATCH/c-$rep" receive -c root \
      -i "$SCRATCH/root-$rep.stream"
    sync -f "$SCRATCH"  # the stream file, so the next tar's sync finds only its own
  done
  # What arrived is the root.
  "$HOODYFS" export --store "$SCRATCH/b-1" -c root "$SCRATCH/out" > /dev/null
  same_tree "$root" "$SCRATCH/out"
  log "root stream: $("$SNAP" --store "$SCRATCH/a" send -c root --name base | wc -c) bytes"
  rm -rf "${SCRATCH:?}"/*
fi

if has_stage incremental; then
  tree="$SCRATCH/tree"
  log "making $FILES files"
  python3 - "$tree" "$FILES" << 'EOF'
import os, sys
root, files = sys.argv[1], int(sys.argv[2])
for d in range((files + 999) // 1000):
    path = os.path.join(root, "d%04d" % d)
    os.makedirs(path)
    for f in range(min(1000, files - d * 1000)):
        with open(os.path.join(path, "f%04d" % f), "wb") as out:
            out.write(b"file %d %d\n" % (d, f))
EOF
  a="$SCRATCH/a"
  "$HOODYFS" init --store "$a" > /dev/null
  t0=$EPOCHREALTIME
  "$HOODYFS" import --store "$a" -c big --create "$tree" > /dev/null
  log "imported $FILES files in $(since "$t0") s"
  "$SNAP" --store "$a" create -c big --alias S1 > /dev/null
  "$SNAP" --store "$a" send -c big --name S1 -o "$SCRATCH/full.stream"
  step=$((FILES / 100))
  for ((i = 0; i < 100; i++)); do
    n=$((i * step))
    printf 'changed\n' >> "$tree/$(printf 'd%04d/f%04d' $((n / 1000)) $((n % 1000)))"
  done
  t0=$EPOCHREALTIME
  "$HOODYFS" import --store "$a" -c big --replace "$tree" > /dev/null
  log "import --replace of 100 changed files in $(since "$t0") s"
  "$SNAP" --store "$a" create -c big --alias S2 > /dev/null
  for ((rep = 1; rep <= REPS; rep++)); do
    timed "incremental send, 100 of $FILES files" "$rep" "$SNAP" --store "$a" send -c big \
      --name S2 --from S1 -o "$SCRATCH/incr.stream"
  done
  log "incremental stream: $(stat -c %s "$SCRATCH/incr.stream") bytes"
  b="$SCRATCH/b"
  "$HOODYFS" init --store "$b" > /dev/null
  t0=$EPOCHREALTIME
  "$SNAP" --store "$b" receive -c big -i "$SCRATCH/full.stream" > /dev/null
  log "full receive of $FILES files in $(since "$t0") s"
  timed "incremental receive, 100 of $FILES files" 1 "$SNAP" --store "$b" receive -c big \
    -i "$SCRATCH/incr.stream"
  "$HOODYFS" export --store "$b" -c big "$SCRATCH/out" > /dev/null
  same_tree "$tree" "$SCRATCH/out"  # the received S2 is the tree
fi

finish_run
column -t -s $'\t' "$OUT/send_receive.tsv"
