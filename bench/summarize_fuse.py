#!/usr/bin/env python3
"""Turns the output directory of bench/run_fuse_benchmarks.sh into table.md:
medians per target with the ratio to ext4 (target / ext4 of the value shown:
above 1 is better for rates, worse for seconds), snapshot latency percentiles
(nearest rank over every sample), the daemon's memory per step, and the load
average seen during each stage.

usage: bench/summarize_fuse.py OUT_DIR
"""
import math
import statistics
import sys
from collections import defaultdict

from results_table import comparison, fmt, load_results, loads

TARGETS = ["ext4", "hoodyfs", "bindfs", "fuse-overlayfs", "btrfs", "zfs-fuse"]
# (stage, metric) rows of the comparison table, in order, with a label.
ROWS = [
    ("fio", "seqwrite", "fio sequential write 1 GiB, bs 1M, buffered + end_fsync"),
    ("fio", "seqread", "fio sequential read 1 GiB cold, bs 1M, buffered"),
    ("fio", "randread-qd1", "fio 4 KiB random read, O_DIRECT, QD1 (psync)"),
    ("fio", "randread-qd1-p50", "  latency p50"),
    ("fio", "randread-qd16", "fio 4 KiB random read, O_DIRECT, QD16 (libaio)"),
    ("fio", "randwrite-qd1", "fio 4 KiB random write, O_DIRECT, QD1 (psync)"),
    ("fio", "randwrite-qd1-p50", "  latency p50"),
    ("fio", "randwrite-qd16", "fio 4 KiB random write, O_DIRECT, QD16 (libaio)"),
    ("fio", "randwrite-fsync32", "fio 4 KiB random write, buffered, fsync every 32 (psync)"),
    ("fio", "randwrite-fsync32-p50", "  latency p50"),
    ("fio", "randwrite-8k-buffered", "fio 8 KiB random write, buffered (psync)"),
    ("fsmark", "creates_4k", "fs_mark creates of 4 KiB files, no sync"),
    ("untar", "tar_xf_s", "tar xf /usr/include (lower is better)"),
    ("untar", "rm_rf_s", "rm -rf of that tree (lower is better)"),
    ("smallfiles", "tar_xf_s", "tar xf of 100k files of 512 B (lower is better)"),
    ("smallfiles", "find_ls_s", "cold find -ls of them (lower is better)"),
    ("smallfiles", "rm_rf_s", "rm -rf of them (lower is better)"),
    ("import", "wall_s", "import /usr/include: hoodyfs import vs cp -a + sync (lower is better)"),
    ("import", "files_per_s", "  entries/s"),
    ("import", "MBps", "  MB/s of file data"),
]


def percentile(values, p):
    v = sorted(values)
    rank = math.ceil(p / 100 * len(v))
    return v[max(rank, 1) - 1]


def snapshots(samples):
    rows = [k for k in samples if k[0] == "snapshot"]
    if not rows:
        return
    print()
    print("| snapshot command (whole process timed) | target | n | p50 | p90 | p99 | max |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for _, metric, target in sorted(rows, key=lambda k: (k[1], TARGETS.index(k[2]))):
        vals = [v for _, v in samples[("snapshot", metric, target)]]
        if metric.endswith("MBps"):
            print(f"| {metric} | {target} | {len(vals)} | {fmt(vals[0])} MB/s | | | |")
            continue
        p = [fmt(percentile(vals, q)) for q in (50, 90, 99, 100)]
        print(f"| {metric} | {target} | {len(vals)} | " + " | ".join(p) + " |")
    print()
    print("Percentiles by nearest rank: with 50 samples p99 is the worst one "
          "(rank ceil(0.99 x 50) = 50).")


def memory(samples):
    keys = [k for k in samples if k[0] == "memory"]
    if not keys:
        return
    by_files = defaultdict(dict)
    for _, metric, target in keys:
        for rep, v in samples[("memory", metric, target)]:
            by_files[int(rep)][metric] = v
    cols = ["creates_0", "VmRSS_MiB", "RssAnon_MiB", "RssFile_MiB", "VmHWM_MiB", "fuse_inodes"]
    print()
    print("| files created through the mount | creates/s (empty files) | VmRSS MiB | "
          "RssAnon MiB | RssFile MiB | VmHWM MiB | FUSE inodes held |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for files in sorted(by_files):
        row = by_files[files]
        print(f"| {files:,} | " + " | ".join(fmt(row[c]) if c in row else "" for c in cols) + " |")
        for suffix, label in (("_idle5s", "5 s idle"),
                              ("_dropped", "5 s after drop_caches (inodes forgotten)")):
            after = [row.get(c.replace("_MiB", "_MiB" + suffix) if "_MiB" in c else c + suffix)
                     for c in cols[1:]]
            if any(x is not None for x in after):
                print(f"| {files:,}, {label} | | " +
                      " | ".join(fmt(x) if x is not None else "" for x in after) + " |")


def stage_of(parts):
    """The stage a "TIME == ..." line of load.log starts: fio's repetitions and
    targets are one stage, the others are named by their first two words."""
    if parts[2] in ("fio", "fs_mark", "untar", "smallfiles"):
        return parts[2]
    return " ".join(parts[2:4])


def main(out):
    samples, units, failed = load_results(out)
    comparison(TARGETS, ROWS, samples, units, failed)
    snapshots(samples)
    memory(samples)
    loads(out, stage_of)


if __name__ == "__main__":
    main(sys.argv[1])
