#!/usr/bin/env bash
# Prints the scratch disk's fdatasync latency right now: 512 appends of 4 KiB,
# each followed by fdatasync (fio), p50/p99/max in ms. Every synced commit of
# the engine costs two of these (LMDB: pages, then the meta page) plus one for
# the data file when data changed, so the snapshot verbs' latency follows this
# number; on a shared virtual disk it swings by 10x within minutes. Prints a
# note instead when fio is missing.
#
# usage: bench/sync_probe.sh SCRATCH_DIR
set -uo pipefail
command -v fio > /dev/null || { echo "fdatasync probe: fio not installed"; exit 0; }
f=$(mktemp "$1/sync-probe-XXXXXX")
fio --name=sync --filename="$f" --rw=write --bs=4k --size=2M --fdatasync=1 \
  --output-format=json 2> /dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)["jobs"][0]["sync"]["lat_ns"]
p = s["percentile"]
print("fdatasync after a 4 KiB append: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms" % (
    s["N"], p["50.000000"] / 1e6, p["99.000000"] / 1e6, s["max"] / 1e6))'
rm -f "$f"
