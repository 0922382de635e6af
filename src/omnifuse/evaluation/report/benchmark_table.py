"""The benchmark table: every method's metrics with confidence intervals and significance."""

from __future__ import annotations

from dataclasses import dataclass

from omnifuse.evaluation.documents import MethodResult, ResultsDocument
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette
from omnifuse.evaluation.report.render import Block, render
from omnifuse.evaluation.report.values import (
    MISSING,
    TARGET_METRICS,
    fmt,
    fmt_int,
    higher_is_better,
    metric_label,
    num,
    present_metrics,
    stat,
)

#: Metrics on which methods are marked as significantly different from the best one.
SIGNIFICANCE_METRICS: tuple[str, ...] = ("auroc", "macro_f1", "c_index", "ibs")
ALPHA = 0.05
MARK = "†"


@dataclass(frozen=True)
class _Cell:
    """One metric of one method: its mean (None: undefined), and how it is marked."""

    mean: str | None
    best: bool = False
    marked: bool = False
    interval: str | None = None


@dataclass(frozen=True)
class _Row:
    name: str
    colour: str
    kind: str
    cells: list[_Cell]
    seconds: str
    params: str


def benchmark_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """The "Benchmark" block from ``results.json`` (empty when it has no methods)."""
    results = cohort.results
    if results is None or not results.methods:
        return []
    methods = results.methods
    metrics = present_metrics(m.metrics for m in methods.values())
    order = sort_methods(methods, "c_index" if results.task == "survival" else "auroc")
    best = {metric: None if metric in TARGET_METRICS else best_method(methods, metric) for metric in metrics}
    pvalues = _pvalues(results)
    header = ["Method"] + [
        metric_label(m) if m in TARGET_METRICS else f"{metric_label(m)} {'↑' if higher_is_better(m) else '↓'}"
        for m in metrics
    ]
    rows = [
        _Row(
            name,
            palette.colour(name),
            methods[name].kind,
            [_cell(name, methods[name], metric, best[metric], pvalues) for metric in metrics],
            fmt(methods[name].train_seconds, 1),
            fmt_int(methods[name].n_params),
        )
        for name in order
    ]
    intro = (
        f"{_protocol(results)} Each cell: mean over repeats, with its confidence interval below. "
        "Methods are sorted by AUROC."
    )
    body = render(
        "benchmark.html.j2",
        intro=intro,
        header=header + ["Train s", "Params"],
        rows=rows,
        mark=MARK,
        missing=MISSING,
        footnote=_footnote(results, pvalues, [m for m in SIGNIFICANCE_METRICS if m in metrics]),
    )
    return [Block("benchmark", "Benchmark", body)]


def sort_methods(methods: dict[str, MethodResult], metric: str) -> list[str]:
    """Method names by ``metric`` mean, best first; undefined values last."""
    sign = -1.0 if higher_is_better(metric) else 1.0

    def key(name: str) -> tuple[bool, float]:
        mean = stat(methods[name].metrics, metric)[0]
        return (mean is None, sign * mean if mean is not None else 0.0)

    return sorted(methods, key=key)


def best_method(methods: dict[str, MethodResult], metric: str) -> str | None:
    """The method with the best defined mean of ``metric`` (None when none is defined)."""
    first = sort_methods(methods, metric)[0]
    return first if stat(methods[first].metrics, metric)[0] is not None else None


def _pvalues(results: ResultsDocument) -> dict[tuple[frozenset[str], str], float]:
    found = {}
    for test in results.tests:
        p = num(test.p_value)
        if p is not None:
            found[(frozenset((test.a, test.b)), test.metric)] = p
    return found


def _cell(
    name: str, method: MethodResult, metric: str, best: str | None, pvalues: dict[tuple[frozenset[str], str], float]
) -> _Cell:
    mean, low, high = stat(method.metrics, metric)
    if mean is None:
        return _Cell(None)
    marked = False
    if metric in SIGNIFICANCE_METRICS and best is not None and name != best:
        p = pvalues.get((frozenset((name, best)), metric))
        marked = p is not None and p < ALPHA
    interval = f"[{low:.2f}, {high:.2f}]" if low is not None and high is not None else None
    return _Cell(fmt(mean), best=name == best, marked=marked, interval=interval)


def _protocol(results: ResultsDocument) -> str:
    protocol = results.protocol
    seed_text = f" × {protocol.seeds} seed{'s' if protocol.seeds != 1 else ''}"
    if protocol.type == "kfold":
        return f"{protocol.folds}-fold cross-validation{seed_text} on {results.n_samples:,} samples."
    return f"Trained on split '{protocol.train_split}', tested on split '{protocol.test_split}'{seed_text}."


def _footnote(results: ResultsDocument, pvalues: dict[tuple[frozenset[str], str], float], tested: list[str]) -> str:
    lines = [
        f"Intervals: {results.protocol.ci}.",
        "Bold: best mean per metric (↑ higher is better, ↓ lower is better).",
    ]
    if "coverage" in present_metrics(m.metrics for m in results.methods.values()):
        lines.append(
            "Coverage: share of test samples whose true class is in their conformal prediction set "
            "(the target is the conformal level the models were trained with); set size: mean classes per set."
        )
    tests = sorted({t.test for t in results.tests if t.test})
    if tested and pvalues:
        names = " and ".join(metric_label(m) for m in tested)
        lines.append(
            f"{MARK} on {names}: differs from the best method at p < {ALPHA:g}"
            + (f" ({'; '.join(tests)})." if tests else ".")
            + " Unmarked methods are not significantly different from the best one."
        )
    elif tested:
        lines.append("No significance tests were recorded.")
    return " ".join(lines)
