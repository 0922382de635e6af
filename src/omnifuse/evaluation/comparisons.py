"""Paired comparisons of two methods evaluated on the same splits.

* k-fold: the corrected resampled t-test of Nadeau and Bengio (2003). Training sets of
  different folds overlap, so fold scores are not independent and the plain paired t-test
  is anti-conservative; the variance is inflated by ``1/J + n_test/n_train``.
* a fixed test set (several training seeds): a paired bootstrap over test samples. Seeds
  only measure training noise; the test set's sampling noise is what a comparison needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from omnifuse.evaluation.statistics import bootstrap_distribution


def corrected_paired_ttest(a: Sequence[float], b: Sequence[float], test_train_ratio: float) -> float:
    """Two-sided p-value of the corrected resampled t-test of ``a`` vs ``b`` (paired folds).

    Pairs with NaN are dropped; fewer than 2 pairs or no variation of the differences give
    1.0 when the pairs are identical, NaN otherwise.
    """
    x, z = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(z))
    d = x[keep] - z[keep]
    if d.size == 0:
        return float("nan")
    if d.size < 2 or np.ptp(d) <= 1e-12:
        return 1.0 if np.max(np.abs(d)) <= 1e-12 else float("nan")
    variance = (1.0 / d.size + test_train_ratio) * d.var(ddof=1)
    t = d.mean() / np.sqrt(variance)
    return float(2 * stats.t.sf(abs(t), df=d.size - 1))


def paired_bootstrap_pvalue(
    probs_a: Sequence[np.ndarray],
    probs_b: Sequence[np.ndarray],
    y: np.ndarray,
    task: str,
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> float:
    """Two-sided p-value that ``metric`` differs between two methods on one test set.

    ``probs_a[k]`` and ``probs_b[k]`` are the two methods' predictions of training seed k.
    Both are scored on the same resamples of the test set; the differences of all seeds are
    pooled and ``p = 2 * min(P(diff <= 0), P(diff >= 0))`` (clipped to 1).
    """
    diffs = []
    for k, (pa, pb) in enumerate(zip(probs_a, probs_b)):
        da = bootstrap_distribution(pa, y, task, [metric], n_boot=n_boot, seed=seed + k)[metric]
        db = bootstrap_distribution(pb, y, task, [metric], n_boot=n_boot, seed=seed + k)[metric]
        diffs.append(da - db)
    return difference_pvalue(diffs)


def difference_pvalue(diffs: Sequence[np.ndarray]) -> float:
    """Two-sided bootstrap p-value of paired metric differences (pooled over seeds):
    ``2 * min(P(diff <= 0), P(diff >= 0))``, clipped to 1; NaN without a finite difference."""
    d = np.concatenate(list(diffs)) if len(diffs) else np.array([])
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    if np.all(d == 0):
        return 1.0
    return float(min(1.0, 2 * min(np.mean(d <= 0), np.mean(d >= 0))))
