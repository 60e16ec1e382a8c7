#!/usr/bin/env bash
# What a snapshot costs while the kernel holds dirty pages (issue 11, 12):
# a container mounted through the daemon, with or without the writeback
# cache; a writer keeps one file open and writes MIB MiB to it in 1 MiB
# write(2)s, no fsync; then `hoodyfs-snap create` is timed as a whole
# process. The writer's batches cycle through SIZES, REPS times, the
# mount modes alternating per repetition, so both modes see the same load.
#
# usage: bench/dirty_create_bench.sh BUILD_DIR OUT_DIR
#   env: SIZES ("0 64 256 768", MiB), REPS (2), MODES ("off on"),
#        SCRATCH_PARENT (/var/tmp; a real disk)
# Writes OUT_DIR/results.tsv (stage, metric, mode, MiB, ms, unit) and prints
# one line per create.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
SIZES=${SIZES:-"0 64 256 768"}
REPS=${REPS:-2}
MODES=${MODES:-"off on"}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
STAGES=""
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
standalone_setup dirty

store="$SCRATCH/store"
mp="$SCRATCH/mnt"
mkdir -p "$mp"
"$HOODYFS" init --store "$store" > /dev/null
"$SNAP" --store "$store" containers create c > /dev/null
start_serve "$store"
CLEANUP+=("mountpoint -q $mp && umount -l $mp")

# The writer: one open file; each line on its stdin is a batch in MiB, each
# answered "ok" once the batch's write(2)s have returned.
writer() {
  python3 -u -c '
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
block = os.urandom(1 << 20)
off = 0
for line in sys.stdin:
    for _ in range(int(line)):
        os.pwrite(fd, block, off)
        off = (off + len(block)) % (1 << 30)
    print("ok")
' "$1"
}

for ((rep = 0; rep < REPS; rep++)); do
  for mode in $MODES; do
    opts=()
    [ "$mode" = on ] && opts=(-o writeback_cache)
    "$HOODYFS" mount --store "$store" -c c "${opts[@]}" "$mp"
    coproc WRITER { writer "$mp/stream"; }
    for mib in $SIZES; do
      echo "$mib" >&"${WRITER[1]}"
      read -r answer <&"${WRITER[0]}"
      [ "$answer" = ok ] || { echo "!! the writer stopped" >&2; exit 1; }
      start=$EPOCHREALTIME
      "$SNAP" --store "$store" create -c c > /dev/null
      ms=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", (b - a) * 1000}')
      record dirty_create create_ms "$mode" "$mib" "$ms" ms
      log "cache $mode, $mib MiB dirty: create $ms ms"
    done
    exec {WRITER[1]}>&-
    wait "$WRITER_PID"
    "$HOODYFS" umount --store "$store" "$mp"
  done
done
finish_run
