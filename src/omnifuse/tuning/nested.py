"""Nested cross-validation: every method tuned inside each outer training pool of a benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.evaluation.documents.results import ResultsDocument
from omnifuse.tuning.objective import check_metric
from omnifuse.tuning.run import tune
from omnifuse.tuning.space import compose_space, nest


@dataclass
class InnerTuner:
    """Tunes a method on the samples of one outer training pool (in-memory study).

    Implements :class:`omnifuse.evaluation.benchmark.ConfigTuner`.
    """

    trials: int
    folds: int = 3
    metric: str | None = None  #: None: the task's headline metric (auroc; survival c_index)

    def choose(self, ds: MultimodalDataset, pool: np.ndarray, name: str, config: dict[str, Any]) -> dict[str, Any]:
        """The best trial's parameters (nested) on ``ds[pool]``; {} when nothing is tunable."""
        inner = ds.subset(pool)
        if not compose_space(name, inner, config):
            return {}
        result = tune(inner, name, self.trials, config=config, metric=self.metric, folds=self.folds)
        return nest(result.best_params)

    def describe(self) -> dict[str, Any]:
        return {
            "nested": True,
            "trials": self.trials,
            "inner_folds": self.folds,
            "metric": self.metric or "the task's headline metric (auroc; survival: c_index)",
            "sampler": "TPE",
            "pruner": "percentile (top third kept)",
            "note": "each method tuned on inner folds of every outer training pool (train + validation), "
            "refitted with the best config on the outer train/validation split, scored on the outer test",
        }


def tuned_benchmark(
    ds: MultimodalDataset,
    models: Sequence[str],
    trials: int,
    tune_folds: int = 3,
    metric: str | None = None,
    **benchmark: Any,
) -> ResultsDocument:
    """:func:`~omnifuse.evaluation.benchmark.run_benchmark` with nested tuning of every method
    (``trials`` trials on ``tune_folds`` inner folds per outer repeat, scored on ``metric``,
    default the task's headline metric); same keyword arguments."""
    chosen = check_metric(metric, ds.task)  # an unknown metric fails before any training
    return run_benchmark(ds, models, tuner=InnerTuner(trials, tune_folds, chosen), **benchmark)
