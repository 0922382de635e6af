"""``tune``: search a model's hyperparameters on inner folds of the training samples."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError, DataError
from omnifuse.evaluation.survival_metrics import higher_is_better
from omnifuse.models.registry import ModelEntry, get_model
from omnifuse.training.config import RunConfig, merge, resolve_config
from omnifuse.tuning.objective import check_metric, inner_folds, make_objective
from omnifuse.tuning.outputs import TuneSummary, history, importances, write_outputs
from omnifuse.tuning.space import Space, compose_space, lowest, nest, override_space
from omnifuse.tuning.study import COUNTED, Direction, counted, open_study

PROTOCOL = (
    "mean {metric} over {folds} stratified, patient-grouped inner folds of the training samples "
    "(early stopping on a share of each inner training part; test samples removed first); "
    "TPE sampler, percentile pruning per epoch (top third kept)"
)

TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


@dataclass
class TuneResult:
    """The outcome of :func:`tune`.

    Attributes:
        best_value: best mean inner-fold metric (None when no trial completed).
        best_params: the best trial's values, flat dotted keys (``{"model.C": 0.01}``).
        best_config: the user's config merged with ``best_params`` (nested, like a YAML file).
        summary: the ``tune.json`` document.
        study: the Optuna study (SQLite-backed when ``out`` was given).
    """

    best_value: float | None
    best_params: dict[str, Any]
    best_config: dict[str, Any]
    summary: TuneSummary
    study: optuna.Study


def tune(
    dataset: MultimodalDataset,
    model: str,
    n_trials: int = 20,
    *,
    config: RunConfig | dict[str, Any] | None = None,
    space: dict[str, Any] | None = None,
    space_source: str = "--space",
    metric: str | None = None,
    folds: int = 3,
    test_split: str | None = None,
    train_split: str | None = None,
    timeout: float | None = None,
    out: Path | None = None,
    resume: bool = False,
    callbacks: Sequence[TrialCallback] = (),
    pruner: optuna.pruners.BasePruner | None = None,
) -> TuneResult:
    """Tune ``model`` on ``dataset`` with ``n_trials`` trials in total (resumed studies count the
    trials they already have).

    Samples of ``test_split`` are removed before anything else; with ``train_split`` only those
    samples are used. ``space`` overrides the composed search space (dotted key -> spec, None
    removes). With ``out`` the study lives in ``out/study.db`` and ``tune.json``,
    ``trials.csv`` and ``best.yaml`` are written there. ``pruner`` defaults to
    :func:`omnifuse.tuning.study.make_pruner`.
    """
    entry = get_model(model)
    metric = check_metric(metric, dataset.task)
    if n_trials < 1:
        raise ConfigError(f"--trials must be at least 1, got {n_trials}")
    user = config.flat(exclude_unset=True) if isinstance(config, RunConfig) else dict(config or {})
    resolved = resolve_config(entry, user).trainer
    ds = training_samples(dataset, test_split, train_split)
    full_space = tuning_space(entry, ds, user, space or {}, space_source)
    inner = inner_folds(ds, folds, resolved.seed, resolved.val_fraction)
    direction: Direction = "maximize" if higher_is_better(metric) else "minimize"
    identity = json.loads(
        json.dumps(
            {
                "model": entry.name,
                "metric": metric,
                "folds": folds,
                "test_split": test_split,
                "train_split": train_split,
                "n_samples": len(ds),
                "modalities": list(ds.modalities),
                "config": user,
                "space": full_space,
            },
            default=str,
        )
    )
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = open_study(out, resume, identity, direction, resolved.seed, pruner)
    remaining = n_trials - counted(study)
    if remaining > 0:
        stop = optuna.study.MaxTrialsCallback(n_trials, states=COUNTED)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="lightning")
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            study.optimize(
                make_objective(ds, entry.name, user, full_space, inner, metric),
                n_trials=remaining,
                timeout=timeout,
                callbacks=[stop, *callbacks],
                gc_after_trial=False,
            )
    result = summarize(study, entry.name, metric, folds, user, full_space, len(ds), test_split, train_split)
    if out is not None:
        write_outputs(Path(out), result.summary, study)
    return result


def training_samples(ds: MultimodalDataset, test_split: str | None, train_split: str | None) -> MultimodalDataset:
    """The samples tuning may see: without ``test_split``, restricted to ``train_split``."""
    everything = np.arange(len(ds))
    test = ds.split_indices(test_split) if test_split else np.zeros(0, dtype=np.int64)
    pool = ds.split_indices(train_split) if train_split else np.setdiff1d(everything, test)
    pool = np.setdiff1d(pool, test)
    shared = set(ds.groups[pool]) & set(ds.groups[test])
    if shared:
        raise DataError(
            f"{len(shared)} patient group(s) appear in both the training and test splits (first: {sorted(shared)[0]})"
        )
    if len(pool) == 0:
        raise DataError("no training samples left to tune on")
    return ds.subset(pool)


def tuning_space(
    entry: ModelEntry, ds: MultimodalDataset, user: dict[str, Any], overrides: dict[str, Any], source: str
) -> Space:
    """The composed space with ``overrides``; checked by building the model at its low corner."""
    space = compose_space(entry, ds, user)
    if overrides:
        space = override_space(space, overrides, source)
    if not space:
        raise ConfigError(f"model '{entry.name}' has no hyperparameters to tune; give some with --space")
    try:
        entry.build(ds, resolve_config(entry, merge(user, nest(lowest(space)))).model)
    except ConfigError as exc:
        raise ConfigError(f"{source}: the search space gives a config model '{entry.name}' rejects ({exc})") from None
    return space


def summarize(
    study: optuna.Study,
    model: str,
    metric: str,
    folds: int,
    user: dict[str, Any],
    space: Space,
    n_samples: int,
    test_split: str | None,
    train_split: str | None,
) -> TuneResult:
    """The :class:`TuneResult` of ``study`` (best trial, counts, importances, history)."""
    points = history(study)
    states = [p.state for p in points]
    complete = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    best = study.best_trial if complete else None
    best_params = dict(best.params) if best else {}
    best_config = merge(user, nest(best_params))
    summary = TuneSummary(
        model=model,
        metric=metric,
        direction=study.direction.name.lower(),
        folds=folds,
        n_trials=len(points),
        n_complete=states.count("COMPLETE"),
        n_pruned=states.count("PRUNED"),
        n_failed=states.count("FAIL"),
        best_value=best.value if best else None,
        best_trial=best.number if best else None,
        best_params=best_params,
        best_config=best_config,
        importances=importances(study),
        space=space,
        history=points,
        test_split=test_split,
        train_split=train_split,
        n_samples=n_samples,
        protocol=PROTOCOL.format(metric=metric, folds=folds),
    )
    return TuneResult(summary.best_value, best_params, best_config, summary, study)
