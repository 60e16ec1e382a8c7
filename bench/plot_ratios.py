#!/usr/bin/python3
"""Plots speed relative to ext4, per workload and target, from one or more
results.tsv files of bench/run_fuse_benchmarks.sh or run_db_benchmarks.sh.

usage: bench/plot_ratios.py OUT.png RESULTS.tsv[:TARGET=LABEL,...] ...

Each bar is the target's median divided by ext4's median in the first file
that has ext4 (for times, where lower is better, ext4's divided by the
target's), so every bar reads "higher is better, 1.0 = as fast as ext4".
A file of one target only (a run of an older build) is compared with that
ext4; `:hoodyfs=hoodyfs 01f5dfa` renames its target in the legend.
"""
import statistics
import sys
from collections import defaultdict

# (stage, metric, label, lower_is_better): the workloads plotted, in order.
WORKLOADS = [
    ("fio", "seqwrite", "seq write 1 GiB", False),
    ("fio", "seqread", "seq read 1 GiB, cold", False),
    ("fio", "randread-qd1", "4K rand read O_DIRECT QD1", False),
    ("fio", "randread-qd16", "4K rand read O_DIRECT QD16", False),
    ("fio", "randwrite-qd1", "4K rand write O_DIRECT QD1", False),
    ("fio", "randwrite-qd16", "4K rand write O_DIRECT QD16", False),
    ("fio", "randwrite-fsync32", "4K rand write, fsync / 32", False),
    ("fio", "randwrite-8k-buffered", "8K rand write, buffered", False),
    ("fsmark", "creates_4k", "fs_mark 4K creates", False),
    ("untar", "tar_xf_s", "tar xf /usr/include", True),
    ("untar", "rm_rf_s", "rm -rf of it", True),
    ("smallfiles", "tar_xf_s", "tar xf of 100k small files", True),
    ("smallfiles", "find_ls_s", "cold find -ls of them", True),
    ("smallfiles", "rm_rf_s", "rm -rf of them", True),
    ("pgbench", "tps", "pgbench TPS", False),
    ("pgbench", "init_s", "pgbench -i", True),
    ("sqlite", "inserts_wal", "SQLite WAL inserts", False),
    ("sqlite", "inserts_delete", "SQLite DELETE-journal inserts", False),
]


def load(spec):
    path, _, renames = spec.partition(":")
    rename = dict(r.split("=", 1) for r in renames.split(",") if "=" in r)
    samples = defaultdict(list)
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 5:
                continue
            stage, metric, target, _rep, value = fields[:5]
            try:
                samples[(stage, metric, rename.get(target, target))].append(float(value))
            except ValueError:
                continue  # FAIL
    return {k: statistics.median(v) for k, v in samples.items()}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, specs = sys.argv[1], sys.argv[2:]
    medians = {}
    for spec in specs:
        medians.update(load(spec))
    targets = []
    for (_, _, t) in medians:
        if t != "ext4" and t not in targets:
            targets.append(t)
    rows = [w for w in WORKLOADS if (w[0], w[1], "ext4") in medians]
    if not rows:
        sys.exit("no workload with an ext4 median in " + " ".join(specs))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) * max(1, len(targets)) / 2 + 1.5))
    height = 0.8 / max(1, len(targets))
    for ti, target in enumerate(targets):
        ys, xs = [], []
        for ri, (stage, metric, _label, lower) in enumerate(rows):
            value = medians.get((stage, metric, target))
            base = medians[(stage, metric, "ext4")]
            if value is None or value <= 0 or base <= 0:
                continue
            ys.append(ri + ti * height)
            xs.append(base / value if lower else value / base)
        ax.barh(ys, xs, height=height, label=target)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks([ri + height * (len(targets) - 1) / 2 for ri in range(len(rows))])
    ax.set_yticklabels([r[2] for r in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("speed relative to ext4 in the same run (log scale; 1 = ext4, higher is better)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"Plot: {out}")


if __name__ == "__main__":
    main()
