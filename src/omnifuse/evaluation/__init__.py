"""Evaluation: metrics of predicted probabilities and their uncertainty.

Public API::

    from omnifuse.evaluation import (METRICS, HIGHER_IS_BETTER, compute_metrics,
                                     confusion_matrix, calibration_curve, bootstrap_ci,
                                     bootstrap_all, bootstrap_distribution, paired_ttest,
                                     summarize, mean_ci)
    # survival tasks (see omnifuse.evaluation.survival_metrics)
    from omnifuse.evaluation import (SURVIVAL_METRICS, compute_survival_metrics, predict_survival,
                                     survival_bootstrap_all, task_metrics, higher_is_better)
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
from omnifuse.evaluation.survival_metrics import (
    SURVIVAL_METRICS,
    compute_survival_metrics,
    higher_is_better,
    predict_survival,
    survival_bootstrap_all,
    task_metrics,
)

__all__ = [
    "HIGHER_IS_BETTER",
    "METRICS",
    "SURVIVAL_METRICS",
    "bootstrap_all",
    "bootstrap_ci",
    "bootstrap_distribution",
    "calibration_curve",
    "compute_metrics",
    "compute_survival_metrics",
    "confusion_matrix",
    "higher_is_better",
    "mean_ci",
    "paired_ttest",
    "predict_survival",
    "summarize",
    "survival_bootstrap_all",
    "task_metrics",
]
