"""The benchmark table: every method's metrics with confidence intervals and significance."""

from __future__ import annotations

from omnifuse.evaluation.documents import MethodResult, ResultsDocument
from omnifuse.evaluation.report.html import Block, Html, esc, paragraph, swatch, table, tag
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette
from omnifuse.evaluation.report.values import (
    MISSING,
    fmt,
    fmt_int,
    higher_is_better,
    metric_label,
    num,
    present_metrics,
    stat,
)

#: Metrics on which methods are marked as significantly different from the best one.
SIGNIFICANCE_METRICS: tuple[str, ...] = ("auroc", "macro_f1")
ALPHA = 0.05
MARK = "†"


def benchmark_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """The "Benchmark" block from ``results.json`` (empty when it has no methods)."""
    results = cohort.results
    if results is None or not results.methods:
        return []
    methods = results.methods
    metrics = present_metrics(m.metrics for m in methods.values())
    order = sort_methods(methods, "auroc")
    best = {metric: best_method(methods, metric) for metric in metrics}
    pvalues = _pvalues(results)
    header: list[object] = ["Method"] + [
        f"{metric_label(m)} {'↑' if higher_is_better(m) else '↓'}" for m in metrics] + ["Train s", "Params"]
    rows = []
    for name in order:
        method = methods[name]
        kind = method.kind
        label = swatch(palette.colour(name)) + esc(name) + (tag("span", kind, class_="kind") if kind else "")
        cells: list[object] = [label]
        for metric in metrics:
            cells.append(_cell(name, method, metric, best[metric], pvalues))
        cells += [fmt(method.train_seconds, 1), fmt_int(method.n_params)]
        rows.append(cells)
    notes = _footnote(results, pvalues, [m for m in SIGNIFICANCE_METRICS if m in metrics])
    intro = paragraph(f"{_protocol(results)} Each cell: mean over repeats, with its confidence interval "
                      "below. Methods are sorted by AUROC.")
    return [Block("benchmark", "Benchmark", intro + table(header, rows) + notes)]


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


def _cell(name: str, method: MethodResult, metric: str, best: str | None,
          pvalues: dict[tuple[frozenset[str], str], float]) -> Html:
    mean, low, high = stat(method.metrics, metric)
    if mean is None:
        return esc(MISSING)
    value = esc(fmt(mean))
    if name == best:
        value = tag("strong", value)
    if metric in SIGNIFICANCE_METRICS and best is not None and name != best:
        p = pvalues.get((frozenset((name, best)), metric))
        if p is not None and p < ALPHA:
            value = value + tag("sup", MARK)
    if low is not None and high is not None:
        value = value + Html("<br>") + tag("small", f"[{low:.2f}, {high:.2f}]")
    return value


def _protocol(results: ResultsDocument) -> str:
    protocol = results.protocol
    seed_text = f" × {protocol.seeds} seed{'s' if protocol.seeds != 1 else ''}"
    if protocol.type == "kfold":
        return f"{protocol.folds}-fold cross-validation{seed_text} on {results.n_samples:,} samples."
    return (f"Trained on split '{protocol.train_split}', tested on split "
            f"'{protocol.test_split}'{seed_text}.")


def _footnote(results: ResultsDocument, pvalues: dict[tuple[frozenset[str], str], float],
              tested: list[str]) -> Html:
    lines = [f"Intervals: {results.protocol.ci}.",
             "Bold: best mean per metric (↑ higher is better, ↓ lower is better)."]
    tests = sorted({t.test for t in results.tests if t.test})
    if tested and pvalues:
        names = " and ".join(metric_label(m) for m in tested)
        lines.append(f"{MARK} on {names}: differs from the best method at p < {ALPHA:g}"
                     + (f" ({'; '.join(tests)})." if tests else ".")
                     + " Unmarked methods are not significantly different from the best one.")
    elif tested:
        lines.append("No significance tests were recorded.")
    return paragraph(" ".join(lines))
