"""Uncertainty of metrics: bootstrap confidence intervals, paired tests, summaries over repeats.

The bootstrap evaluates the built-in metrics on all resamples at once: a resample is a row
of per-sample multiplicities ``W`` (``(B, n)``), and every metric is written as weighted
sums over the original samples (rank-based AUROC, step-wise average precision, weighted
confusion matrices, binned sums for ECE). The results equal ``compute_metrics`` on the
resampled data (up to torchmetrics' float32 rounding). Custom callables are evaluated
resample by resample on exactly the same resamples (same seed, same draws).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from scipy import stats

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import METRICS, as_arrays, bin_edges, compute_metrics, hard_predictions

MetricFn = Callable[[np.ndarray, np.ndarray], float]
"""A custom metric: ``f(probs (n, C), y) -> float`` (NaN when undefined)."""

_CHUNK_CELLS = 2_000_000  # resamples x samples evaluated at once (bounds memory)


def bootstrap_distribution(
    probs: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    task: str,
    metrics: Sequence[str | MetricFn] = METRICS,
    n_boot: int = 1000,
    seed: int = 0,
    stratified: bool = True,
    n_bins: int = 15,
) -> dict[str, np.ndarray]:
    """Value of each metric on each of ``n_boot`` resamples (NaN where undefined).

    Resamples draw ``n`` samples with replacement; with ``stratified`` (binary and
    multiclass only) each class keeps its count, so every resample has all classes of
    ``y``. Same data, seed and options give the same resamples, so distributions of two
    models' predictions on the same targets are paired. Callables are keyed by ``__name__``.
    """
    p, t = as_arrays(probs, y, task)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    names = [_metric_name(m) for m in metrics]
    out = {name: np.empty(n_boot) for name in names}
    n = len(t)
    if n == 0:
        return {name: np.full(n_boot, np.nan) for name in names}
    rng = np.random.default_rng(seed)
    strata = _strata(t, task, stratified)
    fast = _FastMetrics(p, t, task, n_bins)
    step = max(1, _CHUNK_CELLS // n)
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        idx = np.concatenate([s[rng.integers(0, len(s), size=(b, len(s)))] for s in strata], axis=1)
        w = np.bincount((np.arange(b)[:, None] * n + idx).ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        for name, m in zip(names, metrics):
            if callable(m):
                out[name][start : start + b] = [m(p[i], t[i]) for i in idx]
            else:
                out[name][start : start + b] = fast(m, w)
    return out


def bootstrap_ci(
    probs: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    task: str,
    metric: str | MetricFn,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
    n_bins: int = 15,
) -> tuple[float, float, float]:
    """``(point, low, high)``: metric on all samples and its percentile bootstrap interval.

    Resamples where the metric is NaN are skipped; if all are, the interval is NaN.
    """
    res = bootstrap_all(probs, y, task, [metric], n_boot, alpha, seed, stratified, n_bins)
    r = res[_metric_name(metric)]
    return r["mean"], r["ci_low"], r["ci_high"]


def bootstrap_all(
    probs: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    task: str,
    metrics: Sequence[str | MetricFn] = METRICS,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
    n_bins: int = 15,
) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "ci_low", "ci_high"}}`` on shared resamples.

    ``mean`` is the point estimate on all samples (``compute_metrics``), not the mean of the
    bootstrap values; the interval is the ``alpha/2`` and ``1 - alpha/2`` percentiles of the
    finite bootstrap values.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    dist = bootstrap_distribution(probs, y, task, metrics, n_boot, seed, stratified, n_bins)
    p, t = as_arrays(probs, y, task)
    point = compute_metrics(p, t, task, n_bins) if any(isinstance(m, str) for m in metrics) else {}
    out: dict[str, dict[str, float]] = {}
    for m in metrics:
        name = _metric_name(m)
        value = float(m(p, t)) if callable(m) else point[m]
        vals = dist[name][np.isfinite(dist[name])]
        low, high = np.percentile(vals, [50 * alpha, 100 - 50 * alpha]) if vals.size else (np.nan, np.nan)
        out[name] = {"mean": value, "ci_low": float(low), "ci_high": float(high)}
    return out


def paired_ttest(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of a paired t-test (``scipy.stats.ttest_rel``) of ``a`` vs ``b``.

    Pairs with a NaN on either side are dropped. With fewer than 2 pairs or (numerically)
    zero variance of the differences the test is undefined: the p-value is 1.0 when the
    remaining pairs are identical (at least one pair), NaN otherwise (including no pair).
    """
    x, z = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.shape != z.shape or x.ndim != 1:
        raise ValueError(f"paired samples need equal 1-D shapes, got {x.shape} and {z.shape}")
    keep = ~(np.isnan(x) | np.isnan(z))
    x, z = x[keep], z[keep]
    if x.size == 0:
        return float("nan")
    d = x - z
    tol = 1e-12 * max(1.0, float(np.max(np.abs(x))), float(np.max(np.abs(z))))
    if x.size < 2 or np.ptp(d) <= tol:
        return 1.0 if float(np.max(np.abs(d))) <= tol else float("nan")
    return float(stats.ttest_rel(x, z).pvalue)


def summarize(values: Sequence[float]) -> dict[str, object]:
    """``{"mean", "std", "values"}`` over repeats; NaN values are ignored (kept in ``values``).

    ``std`` uses ``ddof=1`` and is NaN with fewer than 2 finite values; ``mean`` is NaN
    without any.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    f = v[~np.isnan(v)]
    mean = float(f.mean()) if f.size else float("nan")
    std = float(f.std(ddof=1)) if f.size >= 2 else float("nan")
    return {"mean": mean, "std": std, "values": [float(x) for x in v]}


def mean_ci(
    values: Sequence[float] | np.ndarray, alpha: float = 0.05
) -> tuple[float, float, float] | tuple[np.ndarray, ...]:
    """``(mean, low, high)``: Student-t interval of the mean over repeats (folds, seeds).

    ``values`` is ``(n,)`` or ``(n, k)`` (repeats along axis 0, e.g. a robustness curve of
    ``k`` corruption levels; then arrays of ``k`` are returned). NaN values are ignored;
    the interval is NaN with fewer than 2 finite values (mean NaN with none).
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    v = np.asarray(values, dtype=np.float64)
    flat = v.ndim == 1
    if v.ndim not in (1, 2):
        raise ValueError(f"values must be (n,) or (n, k), got shape {v.shape}")
    v = v[:, None] if flat else v
    n = np.sum(~np.isnan(v), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(v, axis=0) / n
        dev = np.where(np.isnan(v), 0.0, v - mean)
        sem = np.sqrt(np.sum(dev**2, axis=0) / (n - 1) / n)
        half = stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1)) * sem
    half = np.where(n >= 2, half, np.nan)
    low, high = mean - half, mean + half
    if flat:
        return float(mean[0]), float(low[0]), float(high[0])
    return mean, low, high


# --------------------------------------------------------------------------- internals


def _metric_name(metric: str | MetricFn) -> str:
    if callable(metric):
        return getattr(metric, "__name__", repr(metric))
    if metric not in METRICS:
        raise ConfigError(f"unknown metric '{metric}' (valid: {', '.join(METRICS)})")
    return metric


def _strata(t: np.ndarray, task: str, stratified: bool) -> list[np.ndarray]:
    """Index groups resampled independently (one per class, or all samples)."""
    if stratified and task != "multilabel":
        return [g for g in (np.flatnonzero(t == k) for k in np.unique(t)) if g.size]
    return [np.arange(len(t))]


class _FastMetrics:
    """Built-in metrics of weighted samples, for many weight vectors (resamples) at once."""

    def __init__(self, p: np.ndarray, t: np.ndarray, task: str, n_bins: int) -> None:
        self.task, self.c = task, p.shape[1]
        n = len(t)
        pred = hard_predictions(p, task)
        if task == "multilabel":
            self.ranked = [(p[:, k], t[:, k].astype(bool)) for k in range(self.c)]
            self.cells = np.eye(4)[2 * t + pred].reshape(n, -1)  # per label TN, FP, FN, TP
            self.exact = np.all(pred == t, axis=1).astype(np.float64)
            self.sq = np.mean((p - t) ** 2, axis=1)
            calib = [(p[:, k], t[:, k].astype(np.float64)) for k in range(self.c)]
        else:
            classes = [1] if task == "binary" else range(self.c)
            self.ranked = [(p[:, k], t == k) for k in classes]
            self.cells = np.eye(self.c * self.c)[t * self.c + pred]
            if task == "binary":
                self.sq = (p[:, 1] - t) ** 2
                calib = [(p[:, 1], t.astype(np.float64))]
            else:
                self.sq = np.sum((p - np.eye(self.c)[t]) ** 2, axis=1)
                calib = [(p.max(axis=1), (p.argmax(axis=1) == t).astype(np.float64))]
        # torchmetrics binning: [e_k, e_k+1), confidence exactly 1.0 in an extra bin n_bins;
        # per bin sum(confidence - outcome), so ECE = sum_bins |w @ gap| / sum(w)
        edges = bin_edges(n_bins)
        self.gaps = [
            np.eye(n_bins + 1)[np.searchsorted(edges, conf, side="right") - 1] * (conf - hit)[:, None]
            for conf, hit in calib
        ]

    def __call__(self, metric: str, w: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1)
        if metric in ("auroc", "auprc"):
            fn = _weighted_auroc if metric == "auroc" else _weighted_ap
            return _nanmean_rows(np.stack([fn(s, y, w) for s, y in self.ranked], axis=1))
        if metric == "brier":
            return w @ self.sq / total
        if metric == "ece":
            return np.mean([np.abs(w @ gap).sum(axis=1) / total for gap in self.gaps], axis=0)
        if self.task != "multilabel":
            return _confusion_metric(metric, (w @ self.cells).reshape(len(w), self.c, self.c))
        if metric == "accuracy":
            return w @ self.exact / total
        cms = (w @ self.cells).reshape(len(w), self.c, 2, 2)  # (B, labels, 2, 2)
        if metric == "macro_f1":
            tp, fp, fn = cms[..., 1, 1], cms[..., 0, 1], cms[..., 1, 0]
            with np.errstate(invalid="ignore", divide="ignore"):
                return _nanmean_rows(np.where(tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan))
        return _nanmean_rows(_confusion_metric(metric, cms))


def _confusion_metric(metric: str, cms: np.ndarray) -> np.ndarray:
    """Metric of each ``(..., K, K)`` confusion matrix (rows true, columns predicted)."""
    tp = np.diagonal(cms, axis1=-2, axis2=-1)
    support, predicted = cms.sum(axis=-1), cms.sum(axis=-2)
    total = support.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "accuracy":
            return tp.sum(axis=-1) / total
        if metric == "balanced_accuracy":
            return _nanmean_rows(np.where(support > 0, tp / support, np.nan))
        if metric == "macro_f1":
            return _nanmean_rows(np.where(support + predicted > 0, 2 * tp / (support + predicted), np.nan))
        if metric == "kappa":
            po = tp.sum(axis=-1) / total
            pe = (support * predicted).sum(axis=-1) / total**2
            return np.where(pe < 1, (po - pe) / (1 - pe), np.nan)
    raise ConfigError(f"unknown metric '{metric}'")


def _nanmean_rows(x: np.ndarray) -> np.ndarray:
    """Mean over the last axis ignoring NaN; NaN where a row is all NaN."""
    n = np.sum(~np.isnan(x), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.nansum(x, axis=-1) / n, np.nan)


def _tie_groups(score: np.ndarray, y: np.ndarray, w: np.ndarray, descending: bool) -> tuple[np.ndarray, np.ndarray]:
    """Weighted positives and negatives per group of tied scores, in score order: ``(B, G)``."""
    order = np.argsort(-score if descending else score, kind="stable")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ws, pos = w[:, order], y[order]
    gp = np.add.reduceat(ws * pos, starts, axis=1)
    gn = np.add.reduceat(ws * ~pos, starts, axis=1)
    return gp, gn


def _weighted_auroc(score: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mann-Whitney AUROC (ties count 1/2) per row of weights; NaN for a constant target."""
    gp, gn = _tie_groups(score, y, w, descending=False)
    below = np.cumsum(gn, axis=1) - gn
    u = np.sum(gp * (below + 0.5 * gn), axis=1)
    npos, nneg = gp.sum(axis=1), gn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((npos > 0) & (nneg > 0), u / (npos * nneg), np.nan)


def _weighted_ap(score: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Step-wise average precision per row of weights; NaN for a constant target."""
    gp, gn = _tie_groups(score, y, w, descending=True)
    tp, fp = np.cumsum(gp, axis=1), np.cumsum(gn, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        npos, nneg = gp.sum(axis=1), gn.sum(axis=1)
        return np.where((npos > 0) & (nneg > 0), np.sum(gp * precision, axis=1) / npos, np.nan)
