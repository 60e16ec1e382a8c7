#!/usr/bin/env bash
# bench/list_bench_setup.sh [BUILD_DIR]: for bench/list_bench.py (docs/benchmarks.md,
# "10,000 snapshots of one container"): one store ($LIST_BENCH_STORE, default
# /var/tmp/list/store), one container c, 10,000 snapshots made by POST .../snapshots on
# one keep-alive curl connection to `hoodyfs serve` (as Part 2d did).
set -euo pipefail
BIN=${1:-/work/main/build}
S=${LIST_BENCH_STORE:-/var/tmp/list/store}
mkdir -p "$(dirname "$S")"
rm -rf "$S"
"$BIN/cli/hoodyfs" init --store "$S"
"$BIN/cli/hoodyfs-snap" --store "$S" containers create c >/dev/null
"$BIN/cli/hoodyfs" serve --store "$S" > "$S.setup-daemon.log" 2>&1 &
pid=$!
for i in $(seq 100); do
  curl -s --unix-socket "$S/hoodyfs.sock" http://localhost/api/v1/ping >/dev/null && break
  sleep 0.1
done
cfg="$S.posts.cfg"
echo 'data = "{}"' > "$cfg"   # one body for every URL (repeated data options would be joined)
for i in $(seq 10000); do
  printf 'url = "http://localhost/api/v1/containers/c/snapshots"\noutput = "/dev/null"\n' >> "$cfg"
done
start=$(date +%s.%N)
curl -s --unix-socket "$S/hoodyfs.sock" -K "$cfg"
end=$(date +%s.%N)
echo "10000 POSTs: $(echo "$end - $start" | bc) s"
curl -s --unix-socket "$S/hoodyfs.sock" http://localhost/api/v1/containers/c | head -c 300; echo
kill "$pid"; wait "$pid" || true
