#!/usr/bin/env bash
# Pull with one chunk fetch at a time against several (issue 13): a tree is
# imported, snapshotted and pushed once to a single-node Ceph RGW started
# by scripts/ceph.sh, then pulled into fresh stores with `--jobs` of each
# value in JOBS, alternated, REPS times, beside `tar c | tar x` of the same
# tree. Then the snapshot is deleted from the remote and its chunks, all
# unreferenced now, collected: `gc --dry-run` (a HEAD per chunk) with
# `--jobs` of each value in JOBS, alternated, then one real `gc` (a HEAD
# and a DELETE per chunk). Whole commands as a user runs them; the numbers
# compare within one run (same machine, same gateway, alternated), not
# across runs.
#
# usage: bench/pull_bench.sh BUILD_DIR OUT_DIR
#   env: TREE (/usr/include), REPS (3), JOBS ("1 4"), SCRATCH_PARENT (/var/tmp),
#        CEPH_MEMSTORE_BYTES (2 GiB: the OSD keeps the bucket in RAM)
# Writes OUT_DIR/pull.tsv (what, jobs, rep, seconds, load) and prints it.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUT_DIR" >&2; exit 2; }
build=$(realpath "$1")
OUT=$(realpath -m "$2")
TREE=${TREE:-/usr/include}
REPS=${REPS:-3}
JOBS=${JOBS:-"1 4"}
SCRATCH_PARENT=${SCRATCH_PARENT:-/var/tmp}
export CEPH_MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-2147483648}
repo=$(cd "$(dirname "$0")/.." && pwd)
REMOTE="$build/cli/hoodyfs-snap-remote"
[ -x "$REMOTE" ] || { echo "missing $REMOTE: build first" >&2; exit 2; }
"$repo/scripts/ceph.sh" check
STAGES=""
# shellcheck source=bench/script_common.sh
source "$(dirname "$0")/script_common.sh"
standalone_setup pull

ceph_dir="$SCRATCH/ceph"
CLEANUP+=("'$repo/scripts/ceph.sh' stop '$ceph_dir' > /dev/null")
log "starting Ceph in $ceph_dir"
"$repo/scripts/ceph.sh" start "$ceph_dir" > /dev/null
eval "$("$repo/scripts/ceph.sh" env "$ceph_dir")"
conf="$SCRATCH/remote.conf"
(umask 077 && printf 'endpoint = %s\nbucket = bench\nregion = %s\naccess_key = %s\nsecret_key = %s\n' \
  "$S3_ENDPOINT" "$S3_REGION" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" > "$conf")

printf 'what\tjobs\trep\tseconds\tload\n' > "$OUT/pull.tsv"
load1() { cut -d' ' -f1 /proc/loadavg; }
timed() {  # timed WHAT JOBS REP CMD...: runs CMD, appends its wall time to pull.tsv
  local what=$1 jobs=$2 rep=$3 t0 load
  shift 3
  load=$(load1)
  t0=$EPOCHREALTIME
  "$@" > /dev/null
  printf '%s\t%s\t%s\t%s\t%s\n' "$what" "$jobs" "$rep" "$(since "$t0")" "$load" >> "$OUT/pull.tsv"
}

files=$(find "$TREE" -type f | wc -l)
log "tree $TREE: $files files, $(du -sm "$TREE" | cut -f1) MiB"
"$HOODYFS" init --store "$SCRATCH/a" > /dev/null
"$HOODYFS" import --store "$SCRATCH/a" -c web1 --create "$TREE" > /dev/null
"$SNAP" --store "$SCRATCH/a" create -c web1 --alias base > /dev/null
timed push 4 1 "$REMOTE" --store "$SCRATCH/a" --remote "$conf" push -c web1 --name base

for ((rep = 1; rep <= REPS; rep++)); do
  for jobs in $JOBS; do
    store="$SCRATCH/b-$jobs-$rep"
    "$HOODYFS" init --store "$store" > /dev/null
    log "pull --jobs $jobs, repetition $rep"
    timed pull "$jobs" "$rep" "$REMOTE" --store "$store" --remote "$conf" \
      pull -c web1 --name base --jobs "$jobs"
    if [ "$rep" -eq 1 ]; then  # the pulled tree is the tree
      "$HOODYFS" export --store "$store" -c web1 "$SCRATCH/out" > /dev/null
      diff -r --no-dereference "$TREE" "$SCRATCH/out" > /dev/null
      rm -rf "$SCRATCH/out"
    fi
    rm -rf "$store"
  done
  mkdir "$SCRATCH/tar"
  timed tar - "$rep" bash -c "tar -C '$TREE' -cf - . | tar -C '$SCRATCH/tar' -xf -"
  rm -rf "$SCRATCH/tar"
done
"$REMOTE" --remote "$conf" delete -c web1 --name base > /dev/null
for ((rep = 1; rep <= REPS; rep++)); do
  for jobs in $JOBS; do
    log "gc --dry-run --jobs $jobs, repetition $rep"
    timed gc-dry-run "$jobs" "$rep" "$REMOTE" --remote "$conf" gc --grace 0s --dry-run --jobs "$jobs"
  done
done
last_jobs=${JOBS##* }
timed gc "$last_jobs" 1 "$REMOTE" --remote "$conf" gc --grace 0s --jobs "$last_jobs"
left=$("$REMOTE" --remote "$conf" gc --grace 0s --dry-run --json)
[[ "$left" == *'"chunks":0,'* ]] || { echo "!! chunks left after gc: $left" >&2; exit 1; }
column -t "$OUT/pull.tsv"
