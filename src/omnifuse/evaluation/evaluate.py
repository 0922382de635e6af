"""Metrics of a trained model on (optionally corrupted) test data: ``omnifuse evaluate``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from omnifuse.data.corrupt import Corruption, apply_corruptions
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.evaluation.statistics import bootstrap_all
from omnifuse.evaluation.survival_metrics import (
    predict_survival,
    survival_bootstrap_all,
    task_metrics,
    training_outcomes,
)
from omnifuse.training.fit import FittedModel


class LoadedRun(Protocol):
    """What evaluation needs of a model bundle."""

    name: str

    @property
    def schema(self) -> Any: ...

    def fitted(self, dataset: MultimodalDataset) -> FittedModel: ...


def select_run_modalities(run: LoadedRun, ds: MultimodalDataset) -> MultimodalDataset:
    """``ds`` restricted to the run's modalities when it has more (they are ignored, with a
    warning); a missing modality is left for the compatibility check to report."""
    wanted = list(run.schema.modalities)
    extra = [m for m in ds.modalities if m not in wanted]
    if not extra or any(m not in ds.modalities for m in wanted):
        return ds
    warnings.warn(f"the run does not use modalities {', '.join(extra)} of the data: they are ignored", stacklevel=2)
    return ds.select_modalities(wanted)  # every row kept: test indices stay valid


def evaluate_bundle(
    run: LoadedRun,
    ds: MultimodalDataset,
    test: np.ndarray,
    corruptions: Sequence[Corruption] = (),
    draws: int = 3,
    seed: int = 0,
    n_boot: int = 500,
) -> dict[str, Any]:
    """Clean and corrupted metrics of ``run`` on samples ``test`` of ``ds``.

    Intervals are percentile bootstraps over the test samples, averaged over ``draws``
    random draws of the corruptions (one draw when there are none).
    """
    ds = select_run_modalities(run, ds)
    model = run.fitted(ds)  # checks modalities, features and classes
    return evaluate_model(model, ds, test, corruptions, draws=draws, seed=seed, n_boot=n_boot, name=run.name)


def clean_samples(ds: MultimodalDataset, test: np.ndarray) -> MultimodalDataset:
    """The evaluated samples ``test`` of ``ds``, without those that have none of its modalities."""
    clean = ds.subset(np.asarray(test, dtype=np.int64))
    return clean.subset(np.flatnonzero(clean.mask.any(axis=1)))


def evaluate_model(
    model: FittedModel,
    ds: MultimodalDataset,
    test: np.ndarray,
    corruptions: Sequence[Corruption] = (),
    draws: int = 3,
    seed: int = 0,
    n_boot: int = 500,
    name: str | None = None,
) -> dict[str, Any]:
    """What :func:`evaluate_bundle` returns, for a model already predicting on ``ds``.

    Survival models are scored with :mod:`omnifuse.evaluation.survival_metrics` (bootstrap over
    patients). Their censoring distribution and horizons come from the model's training
    samples when its context has them (a freshly trained model), else from the clean evaluated
    samples themselves (a bundle keeps no training outcomes).
    """
    clean = clean_samples(ds, test)
    survival = ds.task == "survival"
    train_y = training_outcomes(model) if survival else None
    if survival and train_y is None:
        train_y = clean.y

    def score(data: MultimodalDataset, draw_seed: int) -> dict[str, dict[str, float]]:
        on_data = model.on_samples(data)
        index = np.arange(len(data))
        if survival:
            pred = predict_survival(on_data, index, train_y=train_y)
            return survival_bootstrap_all(pred, n_boot=n_boot, seed=draw_seed)
        return bootstrap_all(on_data.predict_proba(index), data.y, data.task, n_boot=n_boot, seed=draw_seed)

    scores = []
    n_scored = []
    for draw in range(draws if corruptions else 1):
        data = apply_corruptions(clean, corruptions, np.random.default_rng([seed, draw]))
        data = data.subset(np.flatnonzero(data.mask.any(axis=1)))
        n_scored.append(len(data))
        scores.append(score(data, seed + draw))
    return {
        "model": name if name is not None else model.name,
        "task": ds.task,
        "n_samples": int(len(clean)),
        "n_scored": int(round(float(np.mean(n_scored)))),  # mean over draws
        "corruptions": [getattr(c, "spec", str(c)) for c in corruptions],
        "draws": draws if corruptions else 1,
        "interval": "percentile bootstrap over test samples, averaged over draws"
        + (" (patients resampled; censoring distribution of the training samples)" if survival else ""),
        "metrics": {
            m: {k: float(np.nanmean([s[m][k] for s in scores])) for k in ("mean", "ci_low", "ci_high")}
            for m in task_metrics(ds.task)
        },
        "clean": score(clean, seed),
    }
