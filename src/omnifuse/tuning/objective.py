"""The tuning objective: the mean validation metric over inner folds of the training samples
(survival: a survival metric, by default Harrell's C, see :mod:`omnifuse.evaluation.survival_metrics`).

Every inner fold is stratified and grouped by patient; its training part gives up a share
(``val_fraction``) for early stopping, and standardisation is fitted on what is left
(:class:`~omnifuse.training.fit.SplitContext`). Neural models report their best validation
score after every epoch (step ``fold * max_epochs + epoch``) so the pruner can stop a poor
trial early; scikit-learn baselines report the running mean after every fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import lightning as L
import numpy as np
import optuna

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.splits import holdout_indices, kfold_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.evaluation.survival_metrics import (
    check_task_metric,
    compute_survival_metrics,
    headline_metric,
    higher_is_better,
    predict_survival,
)
from omnifuse.models.registry import get_model
from omnifuse.training.config import merge, resolve_config
from omnifuse.training.fit import SplitContext, fit
from omnifuse.tuning.space import Space, nest, suggest

#: What the Lightning loop logs that follows each metric (per-epoch pruning reports).
EPOCH_MONITORS = {"auroc": "val_auroc", "accuracy": "val_accuracy", "c_index": "val_cindex"}


@dataclass(frozen=True)
class InnerFold:
    """One inner fold: fit on ``context.train``, stop early on ``context.val``, score on
    ``score``. The context (standardised on ``context.train`` only) is shared by every trial."""

    context: SplitContext
    score: np.ndarray


def check_metric(metric: str | None, task: str = "binary") -> str:
    """``metric`` if it is one of ``task``'s metrics (classification ``METRICS``, or the
    survival metrics); None is the task's headline metric (``auroc``, survival ``c_index``)."""
    if metric is None:
        return headline_metric(task)
    return check_task_metric(metric, task)


def inner_folds(ds: MultimodalDataset, folds: int, seed: int, val_fraction: float) -> list[InnerFold]:
    """Grouped, stratified folds over every sample of ``ds``, each with an early-stopping share."""
    out = []
    for train_pool, score in kfold_indices(ds, folds, seed=seed):
        train, val = holdout_indices(ds, train_pool, val_fraction, seed=seed)
        out.append(InnerFold(SplitContext(ds, train, val), score))
    return out


class TrialPruning(L.Callback):
    """Reports the best validation score so far to an Optuna trial after every epoch and stops
    training when the pruner says so (``pruned`` is then True; the caller raises
    :class:`optuna.TrialPruned` once the fit has returned).

    ``higher``: a larger ``monitor`` is better; ``maximize``: the study's direction.
    """

    def __init__(self, trial: optuna.Trial, monitor: str, higher: bool, maximize: bool, offset: int) -> None:
        self.trial = trial
        self.monitor = monitor
        self.higher = higher
        self.maximize = maximize
        self.offset = offset
        self.best: float | None = None
        self.pruned = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or not np.isfinite(float(value)):
            return
        score = float(value) if self.higher else -float(value)  # larger is better
        self.best = score if self.best is None else max(self.best, score)
        self.trial.report(self.best if self.maximize else -self.best, self.offset + trainer.current_epoch)
        if self.trial.should_prune():
            self.pruned = True
            trainer.should_stop = True


def epoch_monitor(metric: str) -> tuple[str, bool]:
    """``(logged name, larger is better)`` of the per-epoch score that follows ``metric``."""
    if metric in EPOCH_MONITORS:
        return EPOCH_MONITORS[metric], True
    return "val_loss", False


def score_config(
    ds: MultimodalDataset,
    model: str,
    config: dict[str, Any],
    folds: list[InnerFold],
    metric: str,
    trial: optuna.Trial | None = None,
) -> float:
    """Mean ``metric`` of ``model`` under ``config`` over ``folds`` (pruned: optuna.TrialPruned).

    Folds where the metric is undefined (NaN) are left out of the mean.
    """
    entry = get_model(model)
    maximize = higher_is_better(metric)
    monitor, higher = epoch_monitor(metric)
    max_epochs = resolve_config(entry, config).trainer.max_epochs
    scores: list[float] = []
    for k, fold in enumerate(folds):
        pruning = (
            TrialPruning(trial, monitor, higher, maximize, k * max_epochs)
            if trial is not None and entry.neural
            else None
        )
        fitted = fit(model, fold.context, config, callbacks=[pruning] if pruning else None)
        if pruning is not None and pruning.pruned:
            raise optuna.TrialPruned(f"pruned in inner fold {k}")
        if ds.task == "survival":  # censoring distribution of the inner training part
            scores.append(compute_survival_metrics(predict_survival(fitted, fold.score), [metric])[metric])
        else:
            probs = fitted.predict_proba(fold.score)
            scores.append(compute_metrics(probs, ds.y[fold.score], ds.task)[metric])
        if trial is not None and not entry.neural:
            trial.report(float(np.nanmean(scores)), k)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned after inner fold {k}")
    return float(np.nanmean(scores))


def make_objective(
    ds: MultimodalDataset, model: str, base: dict[str, Any], space: Space, folds: list[InnerFold], metric: str
) -> Callable[[optuna.Trial], float]:
    """The Optuna objective: sample ``space``, merge it over ``base``, score it on ``folds``."""

    def objective(trial: optuna.Trial) -> float:
        config = merge(base, nest(suggest(trial, space)))
        return score_config(ds, model, config, folds, metric, trial=trial)

    return objective
