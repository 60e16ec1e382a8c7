#!/usr/bin/env python3
"""Turns the output directory of bench/run_db_benchmarks.sh into table.md
(printed) and db.png: medians per target with the ratio to ext4 (target /
ext4 of the value shown: above 1 is better for rates, worse for seconds),
the min-max of the repetitions, and the load average seen during each stage.
The plot has one panel per workload, a bar per target (median, whiskers at
min and max) labelled with its ratio to ext4. Without matplotlib
(python3-matplotlib) the table is still printed, with a line saying so.

usage: bench/summarize_db.py OUT_DIR
"""
import statistics
import sys

from results_table import comparison, fmt, load_results, loads, present_targets

TARGETS = ["ext4", "hoodyfs", "fuse-overlayfs"]
# (stage, metric, table label, plot title or None, higher is better), in order.
ROWS = [
    ("pgbench", "tps", "pgbench TPC-B-like, TPS", "pgbench TPS", True),
    ("pgbench", "latency_ms", "  mean latency", None, False),
    ("pgbench", "init_s", "pgbench -i (load, vacuum, keys), s (lower is better)",
     "pgbench -i (load, vacuum, keys)", False),
    ("pgbench", "checkpoint_s", "CHECKPOINT right after the load, s (lower is better)",
     "CHECKPOINT after the load", False),
    ("pgbench", "initdb_s", "initdb, s (lower is better)", None, False),
    ("sqlite", "inserts_wal", "SQLite autocommit inserts, WAL, synchronous=FULL",
     "SQLite inserts, WAL", True),
    ("sqlite", "inserts_delete", "SQLite autocommit inserts, DELETE journal, synchronous=FULL",
     "SQLite inserts, DELETE journal", True),
]


def plot(out, samples, units):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(no db.png: python3-matplotlib is not installed)")
        return
    rows = [r for r in ROWS if r[3] and any((r[0], r[1], t) in samples for t in TARGETS)]
    if not rows:
        return
    present = present_targets(TARGETS, samples)
    colours = {"ext4": "#7f7f7f", "hoodyfs": "#1f77b4", "fuse-overlayfs": "#ff7f0e"}
    fig, axes = plt.subplots(1, len(rows), figsize=(3.2 * len(rows), 4), squeeze=False)
    for ax, (stage, metric, _, title, higher) in zip(axes[0], rows):
        base = samples.get((stage, metric, "ext4"))
        base = statistics.median(base) if base else None
        for i, t in enumerate(present):
            vals = samples.get((stage, metric, t), [])
            if not vals:
                continue
            m = statistics.median(vals)
            ax.bar(i, m, color=colours.get(t, "#2ca02c"),
                   yerr=[[m - min(vals)], [max(vals) - m]], capsize=4)
            if base and t != "ext4":
                ax.annotate(f"{m / base:.2f}x", (i, max(vals)), ha="center", va="bottom",
                            fontsize=9)
        ax.set_xticks(range(len(present)), present, rotation=20)
        ax.set_title(title, fontsize=9)
        ax.margins(y=0.12)  # room for the ratio above the tallest whisker
        ax.set_ylabel(units.get((stage, metric), "") +
                      (" (higher is better)" if higher else " (lower is better)"), fontsize=8)
    fig.suptitle("Databases on hoodyfs beside ext4 and fuse-overlayfs (median, min-max)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(f"{out}/db.png", dpi=110)
    print(f"\nPlot: {out}/db.png")


def main(out):
    with_reps, units, failed = load_results(out)
    comparison(TARGETS, [r[:3] for r in ROWS], with_reps, units, failed)
    samples = {k: [v for _, v in vals] for k, vals in with_reps.items()}
    loads(out, lambda parts: parts[2])  # pgbench, sqlite, done
    plot(out, samples, units)


if __name__ == "__main__":
    main(sys.argv[1])
