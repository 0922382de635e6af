"""Formatting for the report, and tolerant accessors for its untyped parts.

The documents are typed (:mod:`omnifuse.evaluation.documents`), but a value may be
undefined (None), and some parts are free-form (``tune.json``, training traces, the
simulator's ground truth): nothing here raises on a missing key, a None or an unexpected type.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from omnifuse.evaluation.metrics import METRICS
from omnifuse.evaluation.survival_metrics import SURVIVAL_METRICS
from omnifuse.evaluation.survival_metrics import higher_is_better as metric_direction

MISSING = "–"

METRIC_LABELS: dict[str, str] = {
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro-F1",
    "kappa": "Cohen's κ",
    "brier": "Brier score",
    "ece": "ECE",
    "c_index": "C-index",
    "uno_c": "Uno's C",
    "time_auc": "Time-dependent AUC",
    "ibs": "Integrated Brier score",
    "coverage": "Coverage",
    "set_size": "Set size",
}


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty dict."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` when it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def num(value: Any) -> float | None:
    """A finite float, or None for null, NaN, infinities and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def nums(values: Any) -> list[float]:
    """The finite numbers of a JSON array (nulls and junk dropped)."""
    return [v for v in (num(x) for x in as_list(values)) if v is not None]


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or the dash for an undefined value."""
    v = num(value)
    return MISSING if v is None else f"{v:.{digits}f}"


def fmt_int(value: Any) -> str:
    """An integer with thousands separators, or the dash."""
    v = num(value)
    return MISSING if v is None else f"{int(round(v)):,}"


def metric_label(metric: str) -> str:
    """Readable name of a metric."""
    return METRIC_LABELS.get(metric, metric)


#: Metrics of conformal prediction sets (``omnifuse.evaluation.set_metrics``): coverage has a
#: target rather than a direction, smaller sets are better.
SET_METRICS: tuple[str, ...] = ("coverage", "set_size")
#: Metrics without a better direction (no "best" is marked).
TARGET_METRICS = frozenset({"coverage"})


def higher_is_better(metric: str) -> bool:
    """Direction of a metric (unknown metrics are taken as higher-is-better)."""
    if metric == "set_size":
        return False
    if metric in METRICS or metric in SURVIVAL_METRICS:
        return metric_direction(metric)
    return True


class Estimate(Protocol):
    """A metric with its interval (``MetricStat`` of robustness cells, ``MetricSummary`` of results)."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None


def stat(cell: Mapping[str, Estimate] | None, metric: str) -> tuple[float | None, float | None, float | None]:
    """``(mean, ci_low, ci_high)`` of ``cell[metric]`` (each None when undefined or absent)."""
    entry = (cell or {}).get(metric)
    if entry is None:
        return None, None, None
    return num(entry.mean), num(entry.ci_low), num(entry.ci_high)


def present_metrics(blocks: Iterable[Any]) -> list[str]:
    """Known metrics (in ``METRICS`` order, then the survival and the set metrics) that appear
    in any of the metric dicts."""
    seen: set[str] = set()
    for block in blocks:
        seen.update(as_dict(block))
    return [m for m in (*METRICS, *SURVIVAL_METRICS, *SET_METRICS) if m in seen]


def level_items(levels: Any) -> list[tuple[float, Any]]:
    """``{"0.5": v, ...}`` as ``[(0.5, v), ...]`` sorted numerically; bad keys are skipped."""
    items = []
    for key, value in as_dict(levels).items():
        try:
            level = float(key)
        except ValueError:
            continue
        if math.isfinite(level):
            items.append((level, value))
    return sorted(items, key=lambda kv: kv[0])


def pattern_sort_key(pattern: str) -> tuple[int, str]:
    """Availability patterns ordered by number of modalities, then name."""
    return (len([p for p in pattern.split("+") if p]), pattern)


def ordered(preferred: Iterable[str], keys: Iterable[str], last: Iterable[str] = ()) -> list[str]:
    """``keys`` with those in ``preferred`` first (in that order), then the rest in the
    order given, and those in ``last`` at the end."""
    keys = list(dict.fromkeys(keys))
    tail = [k for k in last if k in keys]
    head = [k for k in dict.fromkeys(preferred) if k in keys and k not in tail]
    middle = [k for k in keys if k not in head and k not in tail]
    return head + middle + tail
