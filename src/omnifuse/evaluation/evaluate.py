"""Metrics of a trained model on (optionally corrupted) test data: ``omnifuse evaluate``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from omnifuse.data.corrupt import Corruption, apply_corruptions
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.evaluation.metrics import METRICS
from omnifuse.evaluation.statistics import bootstrap_all
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
    test = np.asarray(test, dtype=np.int64)
    clean = ds.subset(test)
    clean = clean.subset(np.flatnonzero(clean.mask.any(axis=1)))  # samples with none of the run's modalities
    scores = []
    n_scored = []
    for draw in range(draws if corruptions else 1):
        data = apply_corruptions(clean, corruptions, np.random.default_rng([seed, draw]))
        data = data.subset(np.flatnonzero(data.mask.any(axis=1)))
        n_scored.append(len(data))
        probs = model.on_samples(data).predict_proba(np.arange(len(data)))
        scores.append(bootstrap_all(probs, data.y, data.task, n_boot=n_boot, seed=seed + draw))
    clean_probs = model.on_samples(clean).predict_proba(np.arange(len(clean)))
    return {
        "model": run.name,
        "n_samples": int(len(clean)),
        "n_scored": int(round(float(np.mean(n_scored)))),  # mean over draws
        "corruptions": [getattr(c, "spec", str(c)) for c in corruptions],
        "draws": draws if corruptions else 1,
        "interval": "percentile bootstrap over test samples, averaged over draws",
        "metrics": {
            m: {k: float(np.nanmean([s[m][k] for s in scores])) for k in ("mean", "ci_low", "ci_high")} for m in METRICS
        },
        "clean": bootstrap_all(clean_probs, clean.y, clean.task, n_boot=n_boot, seed=seed),
    }
