"""Render an `omnifuse robustness` robustness.json as the markdown tables in BENCHMARKS.md.

python benchmarks/robustness_table.py benchmarks/results/breast_tcga_robustness/robustness.json [--metric auroc]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from omnifuse.evaluation.documents import MetricCell, RobustnessDocument, read_robustness


def num(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def cell(entry: MetricCell, metric: str) -> str:
    m = entry[metric]
    return f"{num(m.mean)} [{num(m.ci_low)}, {num(m.ci_high)}]"


def render(doc: RobustnessDocument, metric: str = "auroc") -> str:
    methods = doc.methods
    baseline = doc.baseline
    lines = [
        f"Summary ({metric}; relative = mean over each curve's levels, averaged over curves; "
        f"effective = vs {baseline or '–'}, positive = degrades more slowly):",
        "",
        "| method | clean | missing any 0.5 | missing any 0.9 | relative (missing) | relative (all) | effective (all) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in methods.items():
        rr, er = m.relative_robustness, m.effective_robustness
        rr_missing = [v[metric] for v in rr.missing.values() if v.get(metric) is not None]
        effective = er.overall.get(metric) if er is not None else None
        lines.append(
            f"| {name} | {cell(m.clean, metric)} | {cell(m.missing['any']['0.5'], metric)} | "
            f"{cell(m.missing['any']['0.9'], metric)} | "
            f"{num(sum(rr_missing) / len(rr_missing) if rr_missing else None)} | "
            f"{num(rr.overall.get(metric))} | {num(effective, signed=True)} |"
        )
    patterns = list(doc.pattern_counts)
    lines += [
        "",
        f"Per availability pattern ({metric}; n = test samples per repeat):",
        "",
        "| method | " + " | ".join(f"{p} (n={doc.pattern_counts[p]})" for p in patterns) + " |",
        "|---|" + "---|" * len(patterns),
    ]
    for name, m in methods.items():
        lines.append(f"| {name} | " + " | ".join(num(m.patterns[p][metric].mean) for p in patterns) + " |")
    targets = list(next(iter(methods.values())).missing)
    lines += [
        "",
        f"Missing rate 0.9 per modality ({metric}):",
        "",
        "| method | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    for name, m in methods.items():
        lines.append(f"| {name} | " + " | ".join(num(m.missing[t]["0.9"][metric].mean) for t in targets) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--metric", default="auroc")
    args = parser.parse_args()
    print(render(read_robustness(args.path), args.metric))
