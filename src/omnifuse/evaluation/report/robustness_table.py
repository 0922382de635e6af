"""The robustness summary table: relative and effective robustness per method."""

from __future__ import annotations

from dataclasses import dataclass

from omnifuse.evaluation.documents import MethodRobustness
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette
from omnifuse.evaluation.report.render import Block, render
from omnifuse.evaluation.report.values import MISSING, fmt, metric_label, num, present_metrics

#: Metric of the robustness curves, bars and summary (read at call time, so it can be changed).
DEFAULT_METRIC = "auroc"
SECOND_METRICS: tuple[str, ...] = ("macro_f1", "balanced_accuracy", "accuracy", "auprc")


@dataclass(frozen=True)
class _Cell:
    text: str
    bold: bool = False


@dataclass(frozen=True)
class _Row:
    name: str
    colour: str
    baseline: bool
    cells: list[_Cell]


def summary_metrics(methods: dict[str, MethodRobustness], metric: str | None = None) -> list[str]:
    """``metric`` (default ``DEFAULT_METRIC``) plus one more, among those the summaries hold."""
    metric = metric or DEFAULT_METRIC
    blocks = [m.relative_robustness.overall for m in methods.values()]
    blocks += [m.effective_robustness.overall for m in methods.values() if m.effective_robustness is not None]
    present = present_metrics(blocks) or [k for b in blocks for k in b]
    chosen = [metric] if metric in present else present[:1]
    extra = [m for m in SECOND_METRICS if m in present and m not in chosen]
    extra += [m for m in present if m not in chosen and m not in extra]
    return chosen + extra[:1]


def robustness_table_blocks(cohort: Cohort, palette: Palette, metric: str | None = None) -> list[Block]:
    """The "Robustness summary" block from ``robustness.json``."""
    robustness = cohort.robustness
    if robustness is None or not robustness.methods:
        return []
    methods = robustness.methods
    metrics = summary_metrics(methods, metric)
    if not metrics:
        return []
    named = [robustness.baseline] + [
        m.effective_robustness.baseline for m in methods.values() if m.effective_robustness is not None
    ]
    baseline = next((b for b in named if b), None)

    def relative(name: str, m: str) -> float | None:
        return num(methods[name].relative_robustness.overall.get(m))

    def effective(name: str, m: str) -> float | None:
        summary = methods[name].effective_robustness
        return num(summary.overall.get(m)) if summary is not None else None

    order = sorted(methods, key=lambda n: (relative(n, metrics[0]) is None, -(relative(n, metrics[0]) or 0.0)))
    columns = [(f"Relative · {metric_label(m)}", relative, m, False) for m in metrics]
    columns += [(f"Effective · {metric_label(m)}", effective, m, True) for m in metrics]
    columns = [c for c in columns if any(c[1](n, c[2]) is not None for n in order)]  # drop empty columns
    if not columns:
        return []
    best = [_best([get(n, m) for n in order if not (signed and n == baseline)]) for _, get, m, signed in columns]
    rows = [
        _Row(
            name,
            palette.colour(name),
            name == baseline,
            [
                _summary_cell(get(name, m), b if not (signed and name == baseline) else None, signed)
                for (_, get, m, signed), b in zip(columns, best)
            ],
        )
        for name in order
    ]
    header = ["Method"] + [c[0] for c in columns]
    against = f"the baseline '{baseline}'" if baseline else "the baseline"
    text = (
        "Relative robustness is the area under the metric-versus-corruption-level curve divided by the "
        "level range, i.e. the mean performance across corruption levels (higher = better under stress). "
        f"Effective robustness is the same area of the method's drop from its own clean score, minus that of "
        f"{against}: positive means the method degrades more slowly than the baseline, negative faster. "
        "Both are averaged over every missing-modality and noise sweep ('overall'). Bold: best per column."
    )
    if not any(c[3] for c in columns):
        text += " No effective robustness was recorded (it needs a baseline)."
    body = render("robustness_summary.html.j2", header=header, rows=rows, text=text)
    return [Block("robustness-summary", "Robustness summary", body)]


def _best(values: list[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return max(defined) if defined else None


def _summary_cell(value: float | None, best: float | None, signed: bool = False) -> _Cell:
    if value is None:
        return _Cell(MISSING)
    return _Cell(f"{value:+.3f}" if signed else fmt(value), bold=best is not None and value == best)
