"""Evaluation: metrics of predicted probabilities and their uncertainty.

Public API::

    from omnifuse.evaluation import (METRICS, HIGHER_IS_BETTER, compute_metrics,
                                     confusion_matrix, calibration_curve, bootstrap_ci,
                                     bootstrap_all, bootstrap_distribution, paired_ttest,
                                     summarize, mean_ci)
"""

from omnifuse.evaluation.metrics import (
    HIGHER_IS_BETTER,
    METRICS,
    calibration_curve,
    compute_metrics,
    confusion_matrix,
)
from omnifuse.evaluation.statistics import (
    bootstrap_all,
    bootstrap_ci,
    bootstrap_distribution,
    mean_ci,
    paired_ttest,
    summarize,
)

__all__ = [
    "HIGHER_IS_BETTER",
    "METRICS",
    "bootstrap_all",
    "bootstrap_ci",
    "bootstrap_distribution",
    "calibration_curve",
    "compute_metrics",
    "confusion_matrix",
    "mean_ci",
    "paired_ttest",
    "summarize",
]
