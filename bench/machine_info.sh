#!/usr/bin/env bash
# Prints the machine facts docs/benchmarks.md quotes (date, cores, kernel,
# CPU, memory, the scratch directory's disk and mount, load average), for the
# result directories of bench/run_benchmarks.sh and bench/run_fuse_benchmarks.sh.
#
# usage: bench/machine_info.sh SCRATCH_DIR
set -uo pipefail
scratch=$1
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "nproc: $(nproc)"
echo "kernel: $(uname -r)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
echo "scratch: $scratch"
df -h "$scratch"
findmnt -no SOURCE,FSTYPE,OPTIONS -T "$scratch" || true
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
