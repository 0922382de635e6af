"""The subgroup audit: every method's metrics per subgroup with intervals, the largest gaps,
equalised-odds differences, and a forest plot of the headline metric (from ``results.json``,
written by ``omnifuse benchmark --subgroups``)."""

from __future__ import annotations

from dataclasses import dataclass

from omnifuse.evaluation.documents import (
    MetricSummary,
    ResultsDocument,
    SubgroupBenchmarkResult,
    SubgroupColumnResult,
)
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, panel_grid, to_data_uri
from omnifuse.evaluation.report.render import Block, Plot, figures, render
from omnifuse.evaluation.report.values import MISSING, fmt, metric_label, num

#: The metrics of a subgroup table, per task (those present in the results are shown).
SHOWN: dict[str, tuple[str, ...]] = {
    "binary": ("auroc", "auprc", "brier", "sensitivity", "specificity", "ppv", "npv"),
    "multiclass": ("auroc", "macro_f1", "weighted_f1", "mcc"),
    "survival": ("c_index", "uno_c", "time_auc", "ibs"),
}
LABELS = {"sensitivity": "Sensitivity", "specificity": "Specificity", "ppv": "PPV", "npv": "NPV",
          "weighted_f1": "Weighted F1", "mcc": "MCC"}  # fmt: skip


@dataclass(frozen=True)
class _Table:
    method: str
    colour: str
    column: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str]


def subgroup_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """The "Subgroup audit" block (empty when no method of ``results.json`` has one)."""
    results = cohort.results
    if results is None:
        return []
    audited = {n: m.subgroups for n, m in results.methods.items() if m.subgroups is not None}
    if not audited:
        return []
    headline = "c_index" if results.task == "survival" else "auroc"
    tables = []
    for name, audit in audited.items():
        for column in audit.columns:
            metrics = [m for m in SHOWN.get(results.task, SHOWN["multiclass"]) if _present(column, m)]
            tables.append(_table(name, palette.colour(name), column, metrics))
    first = next(iter(audited.values()))
    rule = (
        f" Decisions at the threshold chosen by {first.rule} on each repeat's validation samples." if first.rule else ""
    )
    intro = (
        "Every metric on each repeat's test samples, per subgroup: the mean over repeats and its "
        f"interval in brackets; intervals: {first.ci}.{rule} n: distinct test samples of the subgroup. "
        "The last row gives each metric's largest gap between subgroup means (highest vs lowest)."
    )
    fair = any(c.equalized_odds_difference is not None for a in audited.values() for c in a.columns)
    footnote = (
        "Equalised-odds difference (fairlearn): the larger of the between-subgroup differences in true- "
        "and false-positive rate at the operating point (0: equal error rates); subgroups holding a "
        "single class are left out of it. "
        if fair
        else ""
    ) + "A gap whose subgroup intervals overlap is no evidence of a difference."
    plot = _forest(results, audited, headline, palette)
    body = render(
        "subgroups.html.j2", intro=intro, tables=tables, figures=figures([plot]) if plot else "", footnote=footnote
    )
    return [Block("subgroups", "Subgroup audit", body)]


def _present(column: SubgroupColumnResult, metric: str) -> bool:
    return any(metric in s.metrics for s in column.subgroups)


def _cell(summary: MetricSummary | None) -> str:
    if summary is None or num(summary.mean) is None:
        return MISSING
    low, high = num(summary.ci_low), num(summary.ci_high)
    return fmt(summary.mean) + ("" if low is None or high is None else f" [{low:.2f}, {high:.2f}]")


def _table(name: str, colour: str, column: SubgroupColumnResult, metrics: list[str]) -> _Table:
    header = ["Subgroup", "n", "Counts"] + [LABELS.get(m, metric_label(m)) for m in metrics]
    rows = []
    for sub in column.subgroups:
        counts = ", ".join(f"{k} {v}" for k, v in sub.class_counts.items())
        rows.append([sub.level, f"{sub.n:,}", counts] + [_cell(sub.metrics.get(m)) for m in metrics])
    gaps = []
    for m in metrics:
        gap = column.gaps.get(m)
        gaps.append(MISSING if gap is None or gap.gap is None else f"{gap.gap:.3f} ({gap.highest} vs {gap.lowest})")
    rows.append(["largest gap", "", ""] + gaps)
    notes = []
    eo, dp = column.equalized_odds_difference, column.demographic_parity_difference
    if eo is not None and num(eo.mean) is not None:
        notes.append(
            f"Equalised-odds difference {_cell(eo)}"
            + ("" if dp is None or num(dp.mean) is None else f"; demographic-parity difference {_cell(dp)}")
            + "."
        )
    notes += [f"{sub.level}: {n}" for sub in column.subgroups for n in sub.notes] + list(column.notes)
    return _Table(name, colour, column.column, header, rows, notes)


def _forest(
    results: ResultsDocument, audited: dict[str, SubgroupBenchmarkResult], headline: str, palette: Palette
) -> Plot | None:
    """One panel per subgroup column: each method's ``headline`` per subgroup with its interval."""
    columns = list(dict.fromkeys(c.column for a in audited.values() for c in a.columns))
    if not columns:
        return None
    found = {col: {name: c for name, a in audited.items() for c in a.columns if c.column == col} for col in columns}
    levels = {col: list(dict.fromkeys(s.level for c in found[col].values() for s in c.subgroups)) for col in columns}
    rows = max(len(v) for v in levels.values())
    fig, axes = panel_grid(len(columns), panel_w=3.4, panel_h=1.0 + 0.3 * rows * max(1.0, len(audited) ** 0.5))
    shift = 0.6 / len(audited)
    for ax, col in zip(axes, columns):
        for k, (name, column) in enumerate(found[col].items()):
            points = []
            for sub in column.subgroups:
                mean, low, high = _stat(sub.metrics.get(headline))
                if mean is not None:
                    y = levels[col].index(sub.level) + (k - (len(audited) - 1) / 2) * shift
                    points.append(
                        (
                            y,
                            mean,
                            mean - (low if low is not None else mean),
                            (high if high is not None else mean) - mean,
                        )
                    )
            if points:
                ys, xs, below, above = zip(*points)
                ax.errorbar(xs, ys, xerr=[below, above], fmt="o", color=palette.colour(name), markersize=4,
                            capsize=2, linewidth=1.1, label=name)  # fmt: skip
            overall = _stat(results.methods[name].metrics.get(headline))[0]
            if overall is not None:
                ax.axvline(overall, color=palette.colour(name), linestyle=":", linewidth=0.9)
        ax.set_yticks(range(len(levels[col])), levels[col])
        ax.set_ylim(len(levels[col]) - 0.5, -0.5)
        ax.set_title(col)
        ax.set_xlabel(metric_label(headline))
        ax.grid(axis="y", visible=False)
    if len(audited) > 1:
        axes[0].legend(loc="best", frameon=False, fontsize=7)
    label = metric_label(headline)
    return Plot(
        to_data_uri(fig),
        f"{label} per subgroup",
        f"{label} per subgroup with its interval (mean over repeats), one panel per subgroup column; "
        f"dotted: the method's overall {label}",
    )


def _stat(summary: MetricSummary | None) -> tuple[float | None, float | None, float | None]:
    if summary is None:
        return None, None, None
    return num(summary.mean), num(summary.ci_low), num(summary.ci_high)
