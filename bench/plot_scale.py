#!/usr/bin/python3
"""Plots latency against count from hoodyfs_scale_bench --tsv: the median
and the 99th percentile of each run of 100 creates and of 100 deletes, by
how many snapshots the container held at the time, so growth with the
count shows as a rising line.

Also plots bench/copies_bench.sh's copies.tsv (copy, mount, write, umount
by copies made; delete by copies left): any verb with at least 100 rows.

usage: bench/plot_scale.py OUT.png SCALE.tsv [TITLE [X_LABEL]]
"""
import csv
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

BUCKET = 100


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out, path = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else "one container, many snapshots"
    x_label = sys.argv[4] if len(sys.argv) > 4 else "snapshots in the container"
    series = defaultdict(list)
    with open(path) as f:
        for row in csv.DictReader(f, delimiter="\t"):
            series[row["verb"]].append(float(row["ms"]))
    fig, ax = plt.subplots(figsize=(9, 5))
    for verb, ms in series.items():
        total = len(ms)
        xs, p50, p99 = [], [], []
        for start in range(0, total - BUCKET + 1, BUCKET):
            chunk = sorted(ms[start:start + BUCKET])
            # Held at the time: each verb but delete adds one; deletes
            # (oldest first) remove one.
            xs.append(total - start if verb == "delete" else start + BUCKET)
            p50.append(statistics.median(chunk))
            p99.append(chunk[min(len(chunk) - 1, int(0.99 * len(chunk)))])
        if xs:
            line, = ax.plot(xs, p50, label=f"{verb} p50 (per {BUCKET})")
            ax.plot(xs, p99, linestyle=":", color=line.get_color(), label=f"{verb} p99")
    ax.set_xlabel(x_label)
    ax.set_ylabel("ms per command (synced commit included)")
    ax.margins(y=0.25)
    ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small", ncol=2, loc="upper right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
