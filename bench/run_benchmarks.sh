#!/usr/bin/env bash
# Runs every hoodyfs benchmark with repetitions and writes, to OUT_DIR:
# machine.txt (the facts docs/benchmarks.md quotes), one JSON file per group
# (Google Benchmark's own format, every repetition plus mean/median/stddev),
# the console output of each group, groups.txt (each group's start with the
# load average and the disk's fdatasync latency then: bench/sync_probe.sh),
# and table.md (medians, ratios to ext4).
#
# usage: bench/run_benchmarks.sh [BUILD_DIR [OUT_DIR]]
#   env: REPS (default 5), GROUPS_ONLY (space-separated group names, e.g.
#   "snapshot gc space": run only those), HOODYFS_BENCH_DIR (scratch parent, default /var/tmp:
#   a real disk, not tmpfs). Stores live in a fresh directory under it, removed
#   at exit even when a benchmark aborts (the binary aborts on any engine error).
# Groups run one process each, in an order that keeps each engine group next
# to its ext4 counterpart; each BM_CreateOnly size runs alone so its RSS
# counters see a process that did nothing else.
set -uo pipefail

BUILD=${1:-build}
OUT=${2:-bench-results}
BIN=$BUILD/bench/hoodyfs_bench
REPS=${REPS:-5}
SCRATCH_PARENT=${HOODYFS_BENCH_DIR:-/var/tmp}
mkdir -p "$OUT"
export HOODYFS_BENCH_DIR
HOODYFS_BENCH_DIR=$(mktemp -d "$SCRATCH_PARENT/hoodyfs-bench-XXXXXX")
trap 'rm -rf "$HOODYFS_BENCH_DIR"' EXIT
status=0

PROBE="$(dirname "$0")/sync_probe.sh"
{
  "$(dirname "$0")/machine_info.sh" "$HOODYFS_BENCH_DIR"
  echo "repetitions: $REPS"
  echo "before: $("$PROBE" "$HOODYFS_BENCH_DIR")"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

run() {  # run GROUP FILTER
  local group=$1 filter=$2
  if [[ -n ${GROUPS_ONLY:-} && " $GROUPS_ONLY " != *" $group "* ]]; then return; fi
  echo "== $group: $filter (load $(cut -d' ' -f1-3 /proc/loadavg); $("$PROBE" "$HOODYFS_BENCH_DIR"))" |
    tee -a "$OUT/groups.txt"
  if ! "$BIN" --benchmark_filter="$filter" \
         --benchmark_repetitions="$REPS" \
         --benchmark_display_aggregates_only=true \
         --benchmark_out="$OUT/$group.json" --benchmark_out_format=json \
         2>&1 | tee "$OUT/$group.txt"; then
    echo "!! $group FAILED (see $OUT/$group.txt); going on with the other groups"
    status=1
  fi
  rm -rf "${HOODYFS_BENCH_DIR:?}"/*  # what an aborted run left behind
}

run freeze   '^BM_(Freeze|Branch|Copy)/'
run lookup   '^BM_Lookup/'
run metadata '^BM_(Ext4)?CreateStatUnlink'
run create100k '^BM_CreateOnly/files:100000/'
run create1m   '^BM_CreateOnly/files:1000000/'
run ext4create '^BM_Ext4CreateOnly'
run dataseq  '^BM_(SeqWrite|SeqRead)'
run datarand '^BM_(RandRead|RandWrite)/'
run freezedirty '^BM_FreezeAfterWrites/'
run ext4data '^BM_Ext4(SeqWrite|SeqRead|RandRead|RandWrite)'
run snapshot '^BM_(SnapshotCreate|SnapshotRestore|SnapshotCopy|Copies1000|Diff100)/'
run gc       '^BM_DeleteAndCollect/'
run space    '^BM_SpaceTenSnapshots/'

if [[ -z ${GROUPS_ONLY:-} ]] && command -v fio > /dev/null; then
  # The design notes' peer table uses fio; run the same four jobs on the disk.
  dir=$(mktemp -d "$HOODYFS_BENCH_DIR/hoodyfs-fio-XXXXXX")
  for rw in write read randread randwrite; do
    bs=1M; [[ $rw == rand* ]] && bs=4k
    fio --name="$rw" --directory="$dir" --rw="$rw" --bs="$bs" --size=256M \
        --ioengine=psync --direct=1 --end_fsync=1 --output-format=json \
        > "$OUT/fio-$rw.json"
  done
  rm -rf "$dir"
else
  echo "fio not installed: skipped (the ext4 numbers come from BM_Ext4* only)" | tee "$OUT/fio.txt"
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt"
echo "after: $("$PROBE" "$HOODYFS_BENCH_DIR")" | tee -a "$OUT/machine.txt"
python3 "$(dirname "$0")/summarize.py" "$OUT"/*.json > "$OUT/table.md"
if grep -h "checksum mismatch" "$OUT"/*.txt > "$OUT/mismatches.txt"; then
  echo "!! the engine reported $(wc -l < "$OUT/mismatches.txt") checksum mismatches (mismatches.txt)" \
    | tee -a "$OUT/table.md"
  status=1
fi
cat "$OUT/table.md"
exit $status
