"""Metrics of conformal prediction sets: empirical coverage and mean set size.

A model trained with ``--set conformal=0.9`` carries a
:class:`~omnifuse.uncertainty.conformal.ConformalClassifier` (Mondrian by availability
pattern, fitted on its validation samples). Scored on test samples it gives

* ``coverage``: the share of samples whose true class is in their set (the target is the
  conformal level, e.g. 0.9; the guarantee needs test samples exchangeable with the
  calibration samples, which a corruption breaks on purpose);
* ``set_size``: the mean number of classes per set (1 = as decided as a point prediction;
  the number of classes = "could be anything").

Each sample's threshold is that of its availability pattern in the dataset it is scored on,
so a patient whose modalities were dropped at test time is judged by the threshold of the
pattern it now has (or the pooled one when that pattern had too few calibration samples).

Intervals on one test set are percentile bootstraps on the same class-stratified resamples
as every other metric (:func:`omnifuse.evaluation.statistics.bootstrap_all` with the same
seed and targets draws the same resamples).
"""

from __future__ import annotations

import numpy as np

from omnifuse.evaluation.statistics import bootstrap_all
from omnifuse.training.fitted import FittedModel

#: The set metrics, in the order tables show them.
SET_METRICS: tuple[str, ...] = ("coverage", "set_size")


def coverage(sets: np.ndarray, y: np.ndarray) -> float:
    """Share of samples whose true class (``y``, class indices) is in their set."""
    s = np.asarray(sets)
    t = np.asarray(y).reshape(-1).astype(np.int64)
    return float(s[np.arange(len(t)), t].astype(bool).mean()) if len(t) else float("nan")


def set_size(sets: np.ndarray, y: np.ndarray) -> float:
    """Mean number of classes per set (``y`` unused: the signature of a bootstrap metric)."""
    s = np.asarray(sets)
    return float(s.astype(bool).sum(axis=1).mean()) if len(s) else float("nan")


def prediction_sets(fitted: FittedModel, probs: np.ndarray, patterns: np.ndarray) -> np.ndarray | None:
    """``(n, C)`` bool sets of ``fitted`` for ``probs`` (its calibrated probabilities of
    ``n`` samples), each with the threshold of its availability pattern in ``patterns``
    (``dataset.pattern_names()`` of the dataset scored, after any corruption); None when
    the model has no conformal calibration."""
    if fitted.conformal is None:
        return None
    return fitted.conformal.predict_sets(probs, patterns)


def set_metrics(sets: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """``{"coverage", "set_size"}`` of ``sets`` against the true classes ``y``."""
    return {"coverage": coverage(sets, y), "set_size": set_size(sets, y)}


def set_bootstrap(sets: np.ndarray, y: np.ndarray, task: str, n_boot: int, seed: int) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "ci_low", "ci_high"}}`` of the set metrics, on the resamples
    :func:`~omnifuse.evaluation.statistics.bootstrap_all` draws for ``y`` and ``seed``."""
    if not len(y):
        return {m: {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan")} for m in SET_METRICS}
    return bootstrap_all(np.asarray(sets, dtype=np.float64), y, task, [coverage, set_size], n_boot=n_boot, seed=seed)
