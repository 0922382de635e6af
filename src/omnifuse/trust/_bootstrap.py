"""Bootstrap intervals over patients, shared by operating points and subgroup audits.

One sample per patient (``groups`` None or all distinct): the class-stratified bootstrap of
:func:`omnifuse.evaluation.statistics.bootstrap_all` (the same resamples as every other
interval of the report for the same seed). Several samples per patient: a cluster
bootstrap that draws patients with replacement and keeps all their samples, so the
interval reflects the number of patients, not of stays (Davison & Hinkley, "Bootstrap
Methods and their Application", 1997, section 3.8; not stratified by class, since a
patient's stays may differ in class).

The cluster path weighs the built-in metrics with statistics' internal vectorised
evaluator (``_FastMetrics``: each resample is a vector of per-sample multiplicities, the
same evaluator ``bootstrap_distribution`` uses). Hook for the next step: a ``groups=``
option of :func:`omnifuse.evaluation.statistics.bootstrap_distribution` would make this
module's cluster path a one-line call and drop the private import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import METRICS, as_arrays, compute_metrics
from omnifuse.evaluation.statistics import MetricFn, _FastMetrics, bootstrap_all  # _FastMetrics: see the docstring

_CHUNK_CELLS = 2_000_000  # resamples x samples weighed at once (bounds memory)


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


def _cluster(
    p: np.ndarray,
    t: np.ndarray,
    task: str,
    metrics: Sequence[str | MetricFn],
    groups: np.ndarray,
    n_boot: int,
    alpha: float,
    seed: int,
) -> dict[str, dict[str, float]]:
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    for m in metrics:
        if isinstance(m, str) and m not in METRICS:
            raise ConfigError(f"unknown metric '{m}' (valid: {', '.join(METRICS)})")
    _, codes = np.unique(groups, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rng = np.random.default_rng(seed)
    n = len(t)
    resamples = []
    for _ in range(n_boot):
        drawn = rng.integers(0, len(counts), size=len(counts))
        sizes = counts[drawn]
        offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        resamples.append(order[np.repeat(starts[drawn], sizes) + offsets])
    values = np.full((n_boot, len(metrics)), np.nan)
    # built-in metrics: weighted sums over the original samples, many resamples at once (as
    # statistics.bootstrap_distribution does for sample resamples)
    fast = _FastMetrics(p, t, task, 15) if any(isinstance(m, str) for m in metrics) else None
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, n_boot, step):
        chunk = resamples[start : start + step]
        w = np.stack([np.bincount(idx, minlength=n) for idx in chunk]).astype(np.float64)
        for j, m in enumerate(metrics):
            if isinstance(m, str):
                values[start : start + len(chunk), j] = fast(m, w)  # type: ignore[misc]
            else:
                values[start : start + len(chunk), j] = [m(p[idx], t[idx]) for idx in chunk]
    builtin = compute_metrics(p, t, task) if fast is not None else {}
    point = [builtin[m] if isinstance(m, str) else float(m(p, t)) for m in metrics]
    out: dict[str, dict[str, float]] = {}
    for j, m in enumerate(metrics):
        finite = values[:, j][np.isfinite(values[:, j])]
        low, high = np.percentile(finite, [50 * alpha, 100 - 50 * alpha]) if finite.size else (np.nan, np.nan)
        out[_name(m)] = {"value": float(point[j]), "ci_low": float(low), "ci_high": float(high)}
    return out
