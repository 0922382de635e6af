"""The benchmark table: every method's metrics with confidence intervals and significance."""

from __future__ import annotations

from typing import Any

from omnifuse.evaluation.report.html import Block, Html, esc, paragraph, swatch, table, tag
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette
from omnifuse.evaluation.report.values import (
    MISSING,
    as_dict,
    as_list,
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
    results = cohort.results or {}
    methods = {name: as_dict(m) for name, m in as_dict(results.get("methods")).items()}
    if not methods:
        return []
    metrics = present_metrics(m.get("metrics") for m in methods.values())
    order = sort_methods(methods, "auroc")
    best = {metric: best_method(methods, metric) for metric in metrics}
    pvalues = _pvalues(results)
    header: list[object] = ["Method"] + [
        f"{metric_label(m)} {'↑' if higher_is_better(m) else '↓'}" for m in metrics] + ["Train s", "Params"]
    rows = []
    for name in order:
        method = methods[name]
        kind = method.get("kind")
        label = swatch(palette.colour(name)) + esc(name) + (tag("span", kind, class_="kind") if kind else "")
        cells: list[object] = [label]
        for metric in metrics:
            cells.append(_cell(name, method, metric, best[metric], pvalues))
        cells += [fmt(method.get("train_seconds"), 1), fmt_int(method.get("n_params"))]
        rows.append(cells)
    notes = _footnote(results, pvalues, [m for m in SIGNIFICANCE_METRICS if m in metrics])
    intro = paragraph(f"{_protocol(results)} Each cell: mean over repeats, with its confidence interval "
                      "below. Methods are sorted by AUROC.")
    return [Block("benchmark", "Benchmark", intro + table(header, rows) + notes)]


def sort_methods(methods: dict[str, dict[str, Any]], metric: str) -> list[str]:
    """Method names by ``metric`` mean, best first; undefined values last."""
    sign = -1.0 if higher_is_better(metric) else 1.0

    def key(name: str) -> tuple[bool, float]:
        mean = stat(methods[name].get("metrics"), metric)[0]
        return (mean is None, sign * mean if mean is not None else 0.0)
    return sorted(methods, key=key)


def best_method(methods: dict[str, dict[str, Any]], metric: str) -> str | None:
    """The method with the best defined mean of ``metric`` (None when none is defined)."""
    first = sort_methods(methods, metric)[0]
    return first if stat(methods[first].get("metrics"), metric)[0] is not None else None


def _pvalues(results: dict[str, Any]) -> dict[tuple[frozenset[str], str], float]:
    found = {}
    for test in as_list(results.get("tests")):
        test = as_dict(test)
        p = num(test.get("p_value"))
        if p is not None and isinstance(test.get("a"), str) and isinstance(test.get("b"), str):
            found[(frozenset((test["a"], test["b"])), str(test.get("metric")))] = p
    return found


def _cell(name: str, method: dict[str, Any], metric: str, best: str | None,
          pvalues: dict[tuple[frozenset[str], str], float]) -> Html:
    mean, low, high = stat(method.get("metrics"), metric)
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


def _protocol(results: dict[str, Any]) -> str:
    protocol = as_dict(results.get("protocol"))
    seeds = num(protocol.get("seeds"))
    seed_text = f" × {int(seeds)} seed{'s' if seeds != 1 else ''}" if seeds is not None else ""
    n = num(results.get("n_samples"))
    n_text = f" on {int(n):,} samples" if n is not None else ""
    if protocol.get("type") == "kfold":
        folds = num(protocol.get("folds"))
        return f"{int(folds) if folds is not None else 'k'}-fold cross-validation{seed_text}{n_text}."
    if protocol.get("type") == "holdout":
        return (f"Trained on split '{protocol.get('train_split')}', tested on split "
                f"'{protocol.get('test_split')}'{seed_text}.")
    return f"Evaluated{n_text}." if n_text else ""


def _footnote(results: dict[str, Any], pvalues: dict[tuple[frozenset[str], str], float],
              tested: list[str]) -> Html:
    ci = as_dict(results.get("protocol")).get("ci")
    lines = [f"Intervals: {ci}." if isinstance(ci, str) else "Intervals: confidence interval of the mean.",
             "Bold: best mean per metric (↑ higher is better, ↓ lower is better)."]
    tests = sorted({str(as_dict(t).get("test")) for t in as_list(results.get("tests"))
                    if as_dict(t).get("test")})
    if tested and pvalues:
        names = " and ".join(metric_label(m) for m in tested)
        lines.append(f"{MARK} on {names}: differs from the best method at p < {ALPHA:g}"
                     + (f" ({'; '.join(tests)})." if tests else ".")
                     + " Unmarked methods are not significantly different from the best one.")
    elif tested:
        lines.append("No significance tests were recorded.")
    return paragraph(" ".join(lines))
