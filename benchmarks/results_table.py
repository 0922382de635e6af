"""Render an `omnifuse benchmark` results.json as the markdown table used in BENCHMARKS.md.

python benchmarks/results_table.py benchmarks/results/breast_tcga_kfold/results.json
"""

from __future__ import annotations

import sys
from pathlib import Path

from omnifuse.evaluation.documents import ResultsDocument, read_results

COLUMNS = ("auroc", "auprc", "macro_f1", "kappa", "brier", "ece")


def num(value: float | None) -> str:
    """Three decimals; undefined values (null in the document) as a dash."""
    return "–" if value is None else f"{value:.3f}"


def render(results: ResultsDocument) -> str:
    lines = [
        "| method | kind | AUROC [95% CI] | AUPRC | macro-F1 | kappa | Brier | ECE | train s/fit | params |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    rows = sorted(results.methods.items(), key=lambda kv: -(kv[1].metrics["auroc"].mean or 0.0))
    for name, method in rows:
        m = method.metrics
        auroc = m["auroc"]
        high = None if auroc.ci_high is None else min(auroc.ci_high, 1.0)
        cells = [f"{num(auroc.mean)} [{num(auroc.ci_low)}, {num(high)}]"]
        cells += [num(m[c].mean) for c in COLUMNS[1:]]
        lines.append(
            f"| {name} | {method.kind} | "
            + " | ".join(cells)
            + f" | {method.train_seconds or 0.0:.2f} | {method.n_params:,} |"
        )
    tests = [t for t in results.tests if t.metric == "auroc" and t.p_value is not None and t.p_value < 0.05]
    lines.append("")
    test_name = results.tests[0].test if results.tests else "paired test"
    if tests:
        pairs = "; ".join(f"{t.a} vs {t.b} p={t.p_value:.3f}" for t in tests)
        lines.append(f"AUROC differences with p < 0.05 ({test_name}, uncorrected for multiple comparisons): {pairs}.")
    else:
        lines.append(f"No AUROC difference with p < 0.05 ({test_name}).")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render(read_results(Path(sys.argv[1]))))
