"""Bootstrap intervals over patients, shared by operating points and subgroup audits.

One sample per patient (``groups`` None or all distinct): the class-stratified bootstrap of
:func:`omnifuse.evaluation.statistics.bootstrap_all` (the same resamples as every other
interval of the report for the same seed). Several samples per patient: a cluster
bootstrap that draws patients with replacement and keeps all their samples, so the
interval reflects the number of patients, not of stays (Davison & Hinkley, "Bootstrap
Methods and their Application", 1997, section 3.8). The cluster path evaluates
:func:`~omnifuse.evaluation.metrics.compute_metrics` once per resample: slower, still
seconds for 1000 resamples of a few thousand samples.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from omnifuse.evaluation.metrics import as_arrays, compute_metrics
from omnifuse.evaluation.statistics import bootstrap_all

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def intervals(
    probs: np.ndarray,
    y: np.ndarray,
    task: str,
    metrics: Sequence[str | MetricFn],
    groups: Sequence[str] | np.ndarray | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "ci_low", "ci_high"}}``: the metric on all samples and the
    ``alpha/2``, ``1 - alpha/2`` percentiles of its finite bootstrap values (NaN when none).

    Callables ``f(probs (n, C), y) -> float`` are keyed by ``__name__``.
    """
    p, t = as_arrays(probs, y, task)
    if groups is None or len(np.unique(np.asarray(groups).astype(str))) == len(t):
        res = bootstrap_all(p, t, task, list(metrics), n_boot=n_boot, alpha=alpha, seed=seed)
        return {k: {"value": v["mean"], "ci_low": v["ci_low"], "ci_high": v["ci_high"]} for k, v in res.items()}
    return _cluster(p, t, task, metrics, np.asarray(groups).astype(str), n_boot, alpha, seed)


def _name(metric: str | MetricFn) -> str:
    return metric if isinstance(metric, str) else getattr(metric, "__name__", repr(metric))


def _evaluate(p: np.ndarray, t: np.ndarray, task: str, metrics: Sequence[str | MetricFn]) -> list[float]:
    builtin = compute_metrics(p, t, task) if any(isinstance(m, str) for m in metrics) else {}
    return [builtin[m] if isinstance(m, str) else float(m(p, t)) for m in metrics]


def _cluster(p: np.ndarray, t: np.ndarray, task: str, metrics: Sequence[str | MetricFn], groups: np.ndarray,
             n_boot: int, alpha: float, seed: int) -> dict[str, dict[str, float]]:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rng = np.random.default_rng(seed)
    values = np.full((n_boot, len(metrics)), np.nan)
    for b in range(n_boot):
        drawn = rng.integers(0, len(counts), size=len(counts))
        sizes = counts[drawn]
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        idx = order[np.repeat(starts[drawn], sizes) + offsets]
        values[b] = _evaluate(p[idx], t[idx], task, metrics)
    point = _evaluate(p, t, task, metrics)
    out: dict[str, dict[str, float]] = {}
    for j, m in enumerate(metrics):
        finite = values[:, j][np.isfinite(values[:, j])]
        low, high = np.percentile(finite, [50 * alpha, 100 - 50 * alpha]) if finite.size else (np.nan, np.nan)
        out[_name(m)] = {"value": float(point[j]), "ci_low": float(low), "ci_high": float(high)}
    return out
