"""Survival (censored time-to-event) maths: training losses and evaluation metrics.

Plain functions on tensors (:mod:`omnifuse.survival.losses`) and numpy arrays
(:mod:`omnifuse.survival.metrics`), built on torchsurv and scikit-survival. The package imports
nothing from omnifuse but :mod:`omnifuse.errors`, so models, training and evaluation can all
use it. Conventions everywhere: ``time`` >= 0 is the event or censoring time, ``event`` is
True (1) where the event was observed and False (0) where the sample was censored, and a
*risk* score is higher for a patient expected to have the event sooner.
"""

from omnifuse.survival.losses import (
    bin_index,
    cox_loss,
    logistic_hazard_loss,
    survival_at,
    survival_curve,
    time_bins,
)
from omnifuse.survival.metrics import (
    TimeAUC,
    breslow_survival,
    brier_times,
    default_horizons,
    harrell_c,
    integrated_brier,
    time_auc,
    uno_c,
)

__all__ = [
    "TimeAUC",
    "bin_index",
    "breslow_survival",
    "brier_times",
    "cox_loss",
    "default_horizons",
    "harrell_c",
    "integrated_brier",
    "logistic_hazard_loss",
    "survival_at",
    "survival_curve",
    "time_auc",
    "time_bins",
    "uno_c",
]
