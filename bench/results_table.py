"""What bench/summarize_fuse.py and bench/summarize_db.py share: reading a
results.tsv (stage, metric, target, rep, value, unit per line; FAIL or an
empty value for a failed sample) and printing the comparison table, medians
per target with the ratio to ext4 and the min-max of the repetitions."""
import statistics
from collections import defaultdict


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def load_results(out):
    """(samples, units, failed): samples maps (stage, metric, target) to
    [(rep, value)], units (stage, metric) to its unit, failed the same keys
    to a count of failed samples."""
    samples = defaultdict(list)
    units, failed = {}, defaultdict(int)
    with open(f"{out}/results.tsv") as f:
        for line in f:
            stage, metric, target, rep, value, unit = line.rstrip("\n").split("\t")
            if value in ("FAIL", ""):
                failed[(stage, metric, target)] += 1
                continue
            samples[(stage, metric, target)].append((rep, float(value)))
            units[(stage, metric)] = unit
    return samples, units, failed


def present_targets(targets, samples):
    return [t for t in targets if any(k[2] == t for k in samples)]


def comparison(targets, rows, samples, units, failed):
    """Prints the table: one line per (stage, metric, label) of `rows` that
    has a sample or a failure, one column per target of `targets` present."""
    present = present_targets(targets, samples)
    print("| what | unit | " + " | ".join(present) + " |")
    print("|---|---|" + "---:|" * len(present))
    for stage, metric, label in rows:
        if not any((stage, metric, t) in samples or (stage, metric, t) in failed
                   for t in present):
            continue
        base = [v for _, v in samples.get((stage, metric, "ext4"), [])]
        base = statistics.median(base) if base else None
        cells = []
        for t in present:
            vals = [v for _, v in samples.get((stage, metric, t), [])]
            nfail = failed.get((stage, metric, t), 0)
            if not vals:
                cells.append("failed" if nfail else "")
                continue
            m = statistics.median(vals)
            cell = fmt(m)
            if base and t != "ext4":
                cell += f" ({m / base:.2f}x)"
            if len(vals) > 1:
                cell += f" [{fmt(min(vals))}-{fmt(max(vals))}]"
            if nfail:
                cell += f" ({nfail} failed)"
            cells.append(cell)
        print(f"| {label} | {units.get((stage, metric), '')} | " + " | ".join(cells) + " |")
    print()
    print("Cells: median of the repetitions (ratio to ext4) [min-max].")


def loads(out, stage_of):
    """Prints the load average per stage from OUT/load.log: lines "TIME == ..."
    mark a stage (stage_of(fields) names it), lines of four fields are samples."""
    stage, per = "start", defaultdict(list)
    try:
        lines = open(f"{out}/load.log").read().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "==":
            stage = stage_of(parts)
            continue
        if len(parts) == 4:
            per[stage].append(float(parts[1]))
    if not per:
        return
    print()
    print("| stage | 1-min load average: min / median / max over 10 s samples |")
    print("|---|---|")
    for s, v in per.items():
        print(f"| {s} | {min(v):.2f} / {statistics.median(v):.2f} / {max(v):.2f} |")
