#!/usr/bin/python3
"""Plots speed relative to ext4, per workload and target, from one or more
results.tsv files of bench/run_fuse_benchmarks.sh or run_db_benchmarks.sh.

usage: bench/plot_ratios.py OUT.png RESULTS.tsv[:TARGET=LABEL,...] ...

Each bar is the target's median divided by ext4's median in the same file
(for times, where lower is better, ext4's divided by the target's), so
every bar reads "higher is better, 1.0 = as fast as ext4 in that run".
A file without ext4 (a run of an older build alone) is compared with the
first file's ext4. `:hoodyfs=hoodyfs 01f5dfa` renames a target in the
legend, and a file given renames contributes only the targets it renames
(the other targets of an older run would otherwise mix with this one's).
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
    """(medians by (stage, metric, target), renames) of one results.tsv."""
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
                samples[(stage, metric, target)].append(float(value))
            except ValueError:
                continue  # FAIL
    return {k: statistics.median(v) for k, v in samples.items()}, rename


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, specs = sys.argv[1], sys.argv[2:]
    lower_is_better = {(w[0], w[1]): w[3] for w in WORKLOADS}
    ratios = {}  # (stage, metric, label) -> speed relative to ext4
    targets = []
    first_base = None
    for spec in specs:
        medians, rename = load(spec)
        base = {(st, m): v for (st, m, t), v in medians.items() if t == "ext4"}
        if base and first_base is None:
            first_base = base
        base = base or first_base or {}
        for (stage, metric, target), value in medians.items():
            if target == "ext4" or (rename and target not in rename):
                continue
            b = base.get((stage, metric))
            if (stage, metric) not in lower_is_better or b is None or b <= 0 or value <= 0:
                continue
            label = rename.get(target, target)
            ratios[(stage, metric, label)] = b / value if lower_is_better[(stage, metric)] else value / b
            if label not in targets:
                targets.append(label)
    rows = [w for w in WORKLOADS if any((w[0], w[1], t) in ratios for t in targets)]
    if not rows:
        sys.exit("no workload with an ext4 median in " + " ".join(specs))
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.5 * len(rows) * max(1, len(targets)) / 2 + 1.5))
    height = 0.8 / max(1, len(targets))
    for ti, target in enumerate(targets):
        ys, xs = [], []
        for ri, (stage, metric, _label, _lower) in enumerate(rows):
            ratio = ratios.get((stage, metric, target))
            if ratio is None:
                continue
            ys.append(ri + ti * height)
            xs.append(ratio)
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
