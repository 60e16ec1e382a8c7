#!/usr/bin/env python3
"""Turns Google Benchmark JSON files into the markdown table of
docs/benchmarks.md: the median of each benchmark's repetitions, its main
metric, and the ratio to the matching native ext4 benchmark.

usage: bench/summarize.py RESULT.json...
"""
import json
import sys

from results_table import fmt

# benchmark name prefix -> (metric counter, unit label, higher is better)
METRICS = [
    ("BM_Freeze/", "p50_ms", "ms"), ("BM_Branch/", "p50_ms", "ms"), ("BM_Copy/", "p50_ms", "ms"),
    ("BM_FreezeAfterWrites/", "p50_ms", "ms"),
    ("BM_SnapshotCreate/", "p50_ms", "ms"), ("BM_SnapshotRestore/", "p50_ms", "ms"),
    ("BM_SnapshotCopy/", "p50_ms", "ms"), ("BM_Copies1000/", "total_s", "s"),
    ("BM_Diff100/", "p50_ms", "ms"), ("BM_DeleteAndCollect/", "freed_MBps", "MB/s"),
    ("BM_SpaceTenSnapshots/", "ratio", "x changed"),
    ("BM_Lookup/", "items_per_second", "ops/s"),
    ("BM_CreateStatUnlink/", "items_per_second", "ops/s"),
    ("BM_Ext4CreateStatUnlink", "items_per_second", "ops/s"),
    ("BM_CreateOnly/", "creates_per_s", "creates/s"),
    ("BM_Ext4CreateOnly", "creates_per_s", "creates/s"),
    ("BM_SeqWrite/", "MBps", "MB/s"), ("BM_SeqRead", "MBps", "MB/s"),
    ("BM_Ext4SeqWrite", "MBps", "MB/s"), ("BM_Ext4SeqRead", "MBps", "MB/s"),
    ("BM_RandRead/", "IOPS", "IOPS"), ("BM_RandWrite/", "IOPS", "IOPS"),
    ("BM_Ext4RandRead", "IOPS", "IOPS"), ("BM_Ext4RandWrite", "IOPS", "IOPS"),
]
# engine benchmark prefix -> ext4 benchmark prefix it is compared with
# (a name matches a key when it equals it or continues it with "/")
NATIVE = {
    "BM_CreateStatUnlink": "BM_Ext4CreateStatUnlink",
    "BM_CreateOnly/files:100000": "BM_Ext4CreateOnly",
    "BM_SeqWrite": "BM_Ext4SeqWrite",
    "BM_SeqRead": "BM_Ext4SeqRead",
    "BM_RandRead": "BM_Ext4RandRead",
    "BM_RandWrite": "BM_Ext4RandWrite",
}
# counters shown besides the metric, when present
EXTRA = ["p99_ms", "max_ms", "fsync_ms", "flush_s", "sync_s", "populate_s",
         "rss_created_MiB", "rss_flushed_MiB", "rss_trimmed_MiB",
         "anon_created_MiB", "anon_flushed_MiB", "anon_trimmed_MiB", "create_max_ms",
         "slow_creates", "slow_create_s", "changes", "records_examined", "containers",
         "delete_gc_ms", "freed_MiB", "changed_MiB", "data_beyond_base_MiB",
         "data_file_alloc_MiB", "meta_file_alloc_MiB", "ratio_with_meta", "first100_p50_ms",
         "last100_p50_ms"]


def short(name):
    for suffix in ("/manual_time", "/real_time"):
        name = name.replace(suffix, "")
    parts = [p for p in name.split("/") if not p.startswith("iterations:")]
    return "/".join(parts)


def metric_of(name):
    for prefix, counter, unit in METRICS:
        if name.startswith(prefix):
            return prefix, counter, unit
    return None, None, None


def load(path):
    """A group whose process aborted leaves its JSON unterminated: keep the
    benchmarks that finished."""
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        cut = text.rfind("\n    }")
        if cut < 0:
            return {}
        try:
            return json.loads(text[:cut + 6] + "\n  ]\n}")
        except json.JSONDecodeError:
            return {}


def main(paths):
    medians, reps, errors, read_errors = {}, {}, {}, {}
    for path in paths:
        data = load(path)
        for b in data.get("benchmarks", []):
            name = short(b["run_name"])
            if b.get("error_occurred"):
                errors[name] = b.get("error_message", "error")
                continue
            if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median":
                medians[name] = b
            elif b.get("run_type") == "iteration":
                reps[name] = reps.get(name, 0) + 1
                if "read_errors" in b:
                    read_errors[name] = read_errors.get(name, 0) + int(b["read_errors"])
    native = {}
    for name, b in medians.items():
        prefix, counter, _ = metric_of(name)
        if prefix and prefix.startswith("BM_Ext4") and counter in b:
            native[prefix] = b[counter]
    print("| benchmark | median | unit | vs ext4 | other medians | reps |")
    print("|---|---:|---|---:|---|---:|")
    for name in sorted(medians, key=lambda n: list(medians).index(n)):
        b = medians[name]
        prefix, counter, unit = metric_of(name)
        if counter is None or counter not in b:
            continue
        ratio = ""
        for engine, ext4 in NATIVE.items():
            if (name == engine or name.startswith(engine + "/")) and ext4 in native:
                ratio = f"{b[counter] / native[ext4]:.2f}x"
        extra = ", ".join(f"{k} {fmt(b[k])}" for k in EXTRA if k in b)
        if read_errors.get(name):
            extra = f"**{read_errors[name]} reads failed (EIO) over all repetitions**, " + extra
        print(f"| {name} | {fmt(b[counter])} | {unit} | {ratio} | {extra} | {reps.get(name, '')} |")
    for name, message in errors.items():
        print(f"| {name} | ERROR | | | {message} (after {reps.get(name, 0)} good repetitions) | |")


if __name__ == "__main__":
    main(sys.argv[1:])
