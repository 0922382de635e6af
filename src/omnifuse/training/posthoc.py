"""Post-hoc uncertainty of a trained model, fitted on its validation samples only.

``--set calibrate=temperature`` fits one temperature on the validation probabilities;
``--set conformal=0.9`` then calibrates conformal prediction sets on the (calibrated)
validation probabilities, one threshold per availability pattern with enough samples
(:class:`~omnifuse.uncertainty.conformal.ConformalClassifier`). The validation samples also
chose the best epoch: the conformal guarantee assumes they are exchangeable with new
patients, which early stopping bends a little (one choice among tens of epochs; see
BENCHMARKS.md for the coverage this gives on held-out data).
"""

from __future__ import annotations

from omnifuse.errors import ConfigError
from omnifuse.tasks import CLASSIFICATION_TASKS, SINGLE_LABEL_TASKS
from omnifuse.training.config import TrainerConfig
from omnifuse.training.fitted import FittedModel
from omnifuse.uncertainty.calibration import TemperatureScaler, logits_from_probs
from omnifuse.uncertainty.conformal import ConformalClassifier


def wants_posthoc(trainer: TrainerConfig) -> bool:
    """The config asks for a temperature or conformal sets."""
    return trainer.calibrate != "none" or trainer.conformal is not None


def check_posthoc(trainer: TrainerConfig, task: str) -> None:
    """Fail before training when the config asks for what ``task`` cannot have (one line)."""
    if trainer.calibrate != "none" and task not in CLASSIFICATION_TASKS:
        raise ConfigError(f"calibrate={trainer.calibrate} is for classification tasks, not {task}")
    if trainer.conformal is not None and task not in SINGLE_LABEL_TASKS:
        raise ConfigError(
            f"conformal={trainer.conformal:g} gives class sets for binary and multiclass tasks, not {task}"
        )


def fit_posthoc(fitted: FittedModel) -> FittedModel:
    """``fitted`` with the temperature and conformal sets its config asks for, fitted on
    ``fitted.context.val`` (unchanged when it asks for neither).

    Raises:
        ConfigError: no validation samples, a task that has no such thing, or fewer
            validation samples than the conformal coverage needs (one line each).
    """
    trainer = fitted.config.trainer
    if not wants_posthoc(trainer):
        return fitted
    ds = fitted.context.dataset
    check_posthoc(trainer, ds.task)
    val = fitted.context.val
    if val is None or not len(val):
        raise ConfigError("calibrate and conformal are fitted on validation samples, and this split has none")
    if trainer.calibrate == "temperature":
        logits = logits_from_probs(fitted.raw_proba(val), ds.task)
        fitted.calibration = TemperatureScaler.fit(logits, ds.y[val], ds.task)
    if trainer.conformal is not None:
        try:
            fitted.conformal = ConformalClassifier.fit(
                fitted.predict_proba(val), ds.y[val], ds.pattern_names()[val], coverage=trainer.conformal
            )
        except ConfigError as exc:
            raise ConfigError(f"conformal={trainer.conformal:g}: {exc} (the validation samples)") from None
    return fitted
