#!/usr/bin/env bash
# One golden snapshot, many copies (issue 12): N copies of it, each made,
# mounted, written to and unmounted in turn through the daemon, as a host
# that starts container after container from one image would; then every
# copy deleted and one collection. Each step is a whole command as a user
# runs it (process start, the REST round trip, the synced commit), timed
# alone, so a cost that grows with the number of copies shows as a rising
# line (first 100 against last 100).
#
# usage: bench/copies_bench.sh BUILD_DIR OUT_DIR
#   env: COPIES (1000), FILES (files of 4 KiB in the golden image, 1000),
#        SCRATCH_PARENT (/var/tmp)
# Writes OUT_DIR/copies.tsv (verb, index, ms: the format of
# hoodyfs_scale_bench --tsv, for bench/plot_scale.py), OUT_DIR/rss.tsv (the
# daemon's RSS by copies made) and OUT_DIR/summary.txt.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
COPIES=${COPIES:-1000}
FILES=${FILES:-1000}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
STAGES=""
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
standalone_setup copies

store="$SCRATCH/store"
mp="$SCRATCH/mnt"
mkdir -p "$mp" "$SCRATCH/golden"
printf 'verb\tindex\tms\n' > "$OUT/copies.tsv"
printf 'copies\trss_kib\n' > "$OUT/rss.tsv"

ms_since() {  # ms_since START: milliseconds from $EPOCHREALTIME START to now
  awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.3f", (b - a) * 1000}'
}
timed() {  # timed VERB INDEX CMD...: runs CMD, appends its time to copies.tsv
  local verb=$1 index=$2 t0
  shift 2
  t0=$EPOCHREALTIME
  "$@" > /dev/null
  printf '%s\t%s\t%s\n' "$verb" "$index" "$(ms_since "$t0")" >> "$OUT/copies.tsv"
}
daemon_rss() { awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status"; }

log "golden image: $FILES files of 4 KiB"
for ((i = 0; i < FILES; i++)); do
  head -c 4096 /dev/urandom > "$SCRATCH/golden/f$i"
done
"$HOODYFS" init --store "$store" > /dev/null
"$HOODYFS" import --store "$store" -c golden --create "$SCRATCH/golden" > /dev/null
"$SNAP" --store "$store" create -c golden --alias golden > /dev/null

start_serve "$store"
serve_pid=$SERVE_PID
CLEANUP+=("mountpoint -q $mp && umount -l $mp")
printf '0\t%s\n' "$(daemon_rss)" >> "$OUT/rss.tsv"

mark "copies: $COPIES made, mounted, written and unmounted in turn"
for ((i = 1; i <= COPIES; i++)); do
  timed copy "$i" "$SNAP" --store "$store" copy -c golden --source-snapshot golden --name "c$i"
  timed mount "$i" "$HOODYFS" mount --store "$store" -c "c$i" "$mp"
  # A program's first work in the container: read one file of the image,
  # write one of its own and make it durable.
  timed write "$i" bash -c "cat '$mp/f$((i % FILES))' > /dev/null &&
    dd if=/dev/zero of='$mp/own' bs=4k count=4 conv=fsync status=none"
  timed umount "$i" "$HOODYFS" umount --store "$store" "$mp"
  if ((i % 100 == 0)); then
    printf '%s\t%s\n' "$i" "$(daemon_rss)" >> "$OUT/rss.tsv"
    log "$i copies"
  fi
done

mark "deleting the $COPIES copies, oldest first, then one gc"
for ((i = 1; i <= COPIES; i++)); do
  timed delete "$i" "$SNAP" --store "$store" containers delete "c$i"
done
timed gc 1 "$SNAP" --store "$store" gc
printf 'deleted\t%s\n' "$(daemon_rss)" >> "$OUT/rss.tsv"
"$SNAP" --store "$store" containers list > "$OUT/containers-after.txt"
kill -0 "$serve_pid" || { echo "!! the daemon exited:" >&2; cat "$SCRATCH/serve.log" >&2; exit 1; }

/usr/bin/python3 - "$OUT/copies.tsv" "$OUT/rss.tsv" <<'EOF' | tee "$OUT/summary.txt"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]
print("verb    n      p50 ms   p99 ms   max ms   first-100 p50   last-100 p50")
for verb in ("copy", "mount", "write", "umount", "delete", "gc"):
    ms = [float(r["ms"]) for r in rows if r["verb"] == verb]
    if not ms:
        continue
    first, last = ms[:100], ms[-100:]
    print(f"{verb:7s} {len(ms):5d} {statistics.median(ms):8.1f} {pct(ms, .99):8.1f} "
          f"{max(ms):8.1f} {statistics.median(first):15.1f} {statistics.median(last):14.1f}")
print("daemon RSS (KiB) by copies made:",
      ", ".join(f"{r['copies']}: {r['rss_kib']}" for r in csv.DictReader(open(sys.argv[2]), delimiter="\t")))
EOF
finish_run
