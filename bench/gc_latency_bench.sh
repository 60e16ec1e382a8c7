#!/usr/bin/env bash
# Foreground latency while snapshots are deleted and collected (issue 12):
# a container mounted through the daemon holds SNAPSHOTS snapshots, each
# after FILE_MIB MiB of new data; fio writes 4 KiB blocks at random into a
# file of the same mount at queue depth 1 and logs every write's latency,
# first alone (the baseline), then while every snapshot is deleted and the
# store collected (`hoodyfs-snap delete` ... and `gc`, through the daemon).
# The summary compares the write latency percentiles of three windows: fio
# alone, during the deletes (each runs its own collection), during the gc.
#
# usage: bench/gc_latency_bench.sh BUILD_DIR OUT_DIR
#   env: SNAPSHOTS (1000), FILE_MIB (1), BASELINE_S (10), SCRATCH_PARENT (/var/tmp)
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
SNAPSHOTS=${SNAPSHOTS:-1000}
FILE_MIB=${FILE_MIB:-1}
BASELINE_S=${BASELINE_S:-10}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
command -v fio > /dev/null || { echo "fio is missing: scripts/install-bench-deps.sh" >&2; exit 2; }
STAGES=""
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
standalone_setup gclat

store="$SCRATCH/store"
mp="$SCRATCH/mnt"
mkdir -p "$mp"
"$HOODYFS" init --store "$store" > /dev/null
"$SNAP" --store "$store" containers create c > /dev/null
start_serve "$store" --gc-interval 100000
CLEANUP+=("mountpoint -q $mp && umount -l $mp")
"$HOODYFS" mount --store "$store" -c c "$mp"

mark "$SNAPSHOTS snapshots, each after $FILE_MIB MiB of new data"
mkdir "$mp/data"
for ((i = 1; i <= SNAPSHOTS; i++)); do
  head -c "$((FILE_MIB << 20))" /dev/urandom > "$mp/data/f$((i % 50))"
  "$SNAP" --store "$store" create -c c > /dev/null
done
"$SNAP" --store "$store" list -c c --json |
  /usr/bin/python3 -c 'import json,sys; [print(s["name"]) for s in json.load(sys.stdin)]' \
    > "$SCRATCH/names"

mark "fio alone for ${BASELINE_S} s, then while $SNAPSHOTS snapshots are deleted and collected"
dd if=/dev/zero of="$mp/fio.dat" bs=1M count=256 conv=fsync status=none
fio --name=gclat --filename="$mp/fio.dat" --size=256m --rw=randwrite --bs=4k \
  --ioengine=psync --iodepth=1 --fsync=32 --time_based --runtime=3600 \
  --write_lat_log="$SCRATCH/lat" --log_avg_msec=0 --log_unix_epoch=1 \
  --output="$OUT/fio.txt" > /dev/null &
fio_pid=$!
before_cleanup() { kill "$fio_pid" 2> /dev/null || true; }
sleep "$BASELINE_S"
gc_from_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
t0=$EPOCHREALTIME
while read -r name; do
  "$SNAP" --store "$store" delete -c c --name "$name" > /dev/null
done < "$SCRATCH/names"
delete_s=$(since "$t0")
deletes_to_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
t0=$EPOCHREALTIME
"$SNAP" --store "$store" gc --json > "$OUT/gc.json"
gc_s=$(since "$t0")
gc_to_ms=$(( ${EPOCHREALTIME/./} / 1000 ))
kill -INT "$fio_pid"
wait "$fio_pid" || true
before_cleanup() { :; }
log "deletes ${delete_s} s, gc ${gc_s} s"

# fio's log: Unix time in ms (log_unix_epoch), latency in ns, direction, bs.
/usr/bin/python3 - "$SCRATCH/lat_clat.1.log" "$gc_from_ms" "$deletes_to_ms" "$gc_to_ms" \
  "$delete_s" "$gc_s" "$SNAPSHOTS" <<'EOF' | tee "$OUT/summary.txt"
import sys
path, gc_from, deletes_to, gc_to, delete_s, gc_s, n = sys.argv[1:]
gc_from, deletes_to, gc_to = int(gc_from), int(deletes_to), int(gc_to)
base, deleting, collecting = [], [], []
for line in open(path):
    t, lat = (int(x) for x in line.split(",")[:2])
    at = t
    if at < gc_from:
        base.append(lat / 1e6)
    elif at <= deletes_to:
        deleting.append(lat / 1e6)
    elif at <= gc_to:
        collecting.append(lat / 1e6)
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")
print(f"{n} snapshots deleted in {float(delete_s):.1f} s, collected in {float(gc_s):.1f} s")
print("window             writes   p50 ms   p99 ms  p99.9 ms   max ms")
for name, xs in (("fio alone", base), ("the deletes", deleting), ("the gc after", collecting)):
    print(f"{name:16s} {len(xs):8d} {pct(xs, .5):8.3f} {pct(xs, .99):8.3f} "
          f"{pct(xs, .999):9.3f} {max(xs) if xs else float('nan'):8.1f}")
EOF
"$HOODYFS" umount --store "$store" "$mp"
finish_run
