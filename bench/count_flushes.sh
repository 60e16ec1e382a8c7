#!/usr/bin/env bash
# Counts the hoodyfs daemon's flush and write system calls while fio makes
# N 4 KiB random writes into a mounted container, each followed by an fsync
# (--fsync=1): how many device flushes one fsync costs (docs/benchmarks.md,
# "The metadata log"). Prints strace's summary of fdatasync, fsync, msync,
# pwrite64, pwritev and io_uring_enter.
#
# usage: bench/count_flushes.sh [BUILD_DIR [N]]
#   env: HOODYFS_BENCH_DIR (scratch parent, default /var/tmp; a real disk)
# Needs root, /dev/fuse, fio and strace. Runs in a private mount namespace;
# the mount and the daemon are undone at exit, also after a failure.
set -uo pipefail
if [[ -z ${HOODYFS_BENCH_NS:-} ]]; then
  HOODYFS_BENCH_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
BUILD=$(realpath "${1:-build}")
N=${2:-2000}
HOODYFS=$BUILD/cli/hoodyfs
for tool in fio strace; do
  command -v $tool > /dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
D=$(mktemp -d "${HOODYFS_BENCH_DIR:-/var/tmp}/count-flushes-XXXXXX")
mkdir "$D/mp"
strace_pid=
cleanup() {
  [[ -n $strace_pid ]] && kill "$strace_pid" 2> /dev/null
  mountpoint -q "$D/mp" && "$HOODYFS" umount "$D/mp"
  rm -rf "$D"
}
trap cleanup EXIT
"$HOODYFS" --store "$D/s" init > /dev/null || exit 1
"$HOODYFS" --store "$D/s" mount -c c --create -o nosuid,nodev "$D/mp" || exit 1
daemon=$(pgrep -f "hoodyfs.*--store $D/s" | head -1)
[[ -n $daemon ]] || { echo "no daemon serves $D/s" >&2; exit 1; }
# The file exists and is allocated first, so the counted writes overwrite.
fio --name=fill --filename="$D/mp/f" --size=64M --rw=write --bs=1M --end_fsync=1 > /dev/null
strace -f -c -e trace=fdatasync,fsync,msync,pwrite64,pwritev,io_uring_enter \
  -p "$daemon" -o "$D/strace.txt" 2> "$D/strace.err" &
strace_pid=$!
# strace says "Process N attached" for each thread once it traces them.
until grep -q "attached" "$D/strace.err" 2> /dev/null; do
  kill -0 "$strace_pid" 2> /dev/null || { cat "$D/strace.err" >&2; exit 1; }
  sleep 0.1
done
fio --name=w --filename="$D/mp/f" --size=64M --rw=randwrite --bs=4k --fsync=1 \
  --number_ios="$N" --ioengine=psync > /dev/null
kill -INT "$strace_pid"
wait "$strace_pid"
strace_pid=
echo "$N writes of 4 KiB, each followed by fsync; the daemon's system calls:"
cat "$D/strace.txt"
