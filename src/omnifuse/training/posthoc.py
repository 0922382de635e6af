"""Post-hoc uncertainty of a trained model, fitted on its validation samples only.

``--set calibrate=temperature`` fits one temperature on the validation probabilities;
``--set conformal=0.9`` then calibrates conformal prediction sets on the (calibrated)
validation probabilities, one threshold per availability pattern with enough samples
(:class:`~omnifuse.uncertainty.conformal.ConformalClassifier`). A pattern too rare among the
validation samples (often every pattern but the complete one) is calibrated on the validation
samples that have its modalities, with the others hidden (``source: masked``); patterns are
enumerated for up to :data:`MAX_ENUMERATED` modalities, beyond that only one modality
dropped or one kept. The validation samples also
chose the best epoch: the conformal guarantee assumes they are exchangeable with new
patients, which early stopping bends a little (one choice among tens of epochs; see
BENCHMARKS.md for the coverage this gives on held-out data).
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from omnifuse.data.corrupt import DropPattern
from omnifuse.errors import ConfigError
from omnifuse.tasks import CLASSIFICATION_TASKS, SINGLE_LABEL_TASKS
from omnifuse.training.config import TrainerConfig
from omnifuse.training.fitted import FittedModel
from omnifuse.uncertainty.calibration import TemperatureScaler, logits_from_probs
from omnifuse.uncertainty.conformal import ConformalClassifier, default_min_per_group

#: Up to this many modalities every availability pattern gets masked calibration samples.
MAX_ENUMERATED = 6


def wants_posthoc(trainer: TrainerConfig) -> bool:
    """The config asks for a temperature or conformal sets."""
    return trainer.calibrate != "none" or trainer.conformal is not None


def check_posthoc(trainer: TrainerConfig, task: str) -> None:
    """Fail before training when the config asks for what ``task`` cannot have (one line)."""
    if trainer.conformal_by_class and trainer.conformal is None:
        raise ConfigError("conformal_by_class needs a coverage: add --set conformal=0.9")
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
            patterns = ds.pattern_names()[val]
            fitted.conformal = ConformalClassifier.fit(
                fitted.predict_proba(val),
                ds.y[val],
                patterns,
                coverage=trainer.conformal,
                masked=masked_calibration(fitted, val, default_min_per_group(trainer.conformal)),
                by_class=trainer.conformal_by_class,
            )
        except ConfigError as exc:
            raise ConfigError(f"conformal={trainer.conformal:g}: {exc} (the validation samples)") from None
    return fitted


def masked_calibration(
    fitted: FittedModel, val: np.ndarray, min_samples: int
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per availability pattern with fewer than ``min_samples`` validation samples of its own:
    the (calibrated) probabilities and labels of the validation samples that have all of its
    modalities, the others hidden. Sequence models (sleep staging) get none: their windows
    span neighbouring epochs, which a subset would cut."""
    ds = fitted.context.dataset
    if getattr(fitted.model, "sequence_length", None) or ds.n_modalities < 2:
        return {}
    sub = ds.subset(val)
    observed = dict(zip(*np.unique(sub.pattern_names().astype(str), return_counts=True)))
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    rng = np.random.default_rng(0)  # DropPattern draws nothing; the argument is its interface
    for present in _candidate_patterns(ds.modalities):
        keep = np.isin(np.array(ds.modalities), present)
        rows = np.flatnonzero(sub.mask[:, keep].all(axis=1))
        if len(rows) < min_samples:
            continue
        hidden = DropPattern(present)(sub.subset(rows), rng)
        name = str(hidden.pattern_names()[0])
        if observed.get(name, 0) >= min_samples:
            continue  # enough real samples: the observed threshold is used
        out[name] = (fitted.on_samples(hidden).predict_proba(np.arange(len(rows))), hidden.y)
    return out


def _candidate_patterns(modalities: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Proper non-empty subsets of ``modalities`` (all of them up to MAX_ENUMERATED
    modalities; beyond, those with one modality dropped or one kept)."""
    m = len(modalities)
    sizes = range(1, m) if m <= MAX_ENUMERATED else sorted({1, m - 1})
    return [tuple(c) for k in sizes for c in combinations(modalities, k)]
