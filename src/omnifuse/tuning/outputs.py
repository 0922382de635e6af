"""What a tuning run writes: ``tune.json``, ``trials.csv`` and ``best.yaml``."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Optional

import optuna
import pandas as pd
import yaml
from threadpoolctl import threadpool_limits
from pydantic import BaseModel, Field

from omnifuse.utils.atomic import atomic_file
from omnifuse.utils.jsonio import write_json


class TrialPoint(BaseModel):
    """One trial of the optimisation history."""

    number: int
    state: str
    value: Optional[float] = None
    duration: Optional[float] = None


class TuneSummary(BaseModel):
    """The ``tune.json`` document (also read by the HTML report)."""

    model: str
    metric: str
    direction: str
    folds: int
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    best_value: Optional[float] = None
    best_trial: Optional[int] = None
    best_params: dict[str, Any] = Field(default_factory=dict)
    best_config: dict[str, Any] = Field(default_factory=dict)
    importances: dict[str, float] = Field(default_factory=dict)
    space: dict[str, dict[str, Any]] = Field(default_factory=dict)
    history: list[TrialPoint] = Field(default_factory=list)
    test_split: Optional[str] = None
    train_split: Optional[str] = None
    n_samples: int = 0
    protocol: str = ""


def history(study: optuna.Study) -> list[TrialPoint]:
    """Every trial in order: number, state, value (None unless complete), duration in seconds."""
    points = []
    for t in study.get_trials(deepcopy=False):
        duration = t.duration.total_seconds() if t.duration is not None else None
        value = (
            t.value
            if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
            else None
        )
        points.append(TrialPoint(number=t.number, state=t.state.name, value=value, duration=duration))
    return points


def importances(study: optuna.Study) -> dict[str, float]:
    """fANOVA importance of each parameter over the complete trials ({} with too few of them)."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return {}
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=32, seed=0)
    try:  # one BLAS/OpenMP thread: oversubscribed, the forest takes 100x longer on a shared machine
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")
            return {k: float(v) for k, v in optuna.importance.get_param_importances(study, evaluator=evaluator).items()}
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value, duration (s), then one column per parameter."""
    rows = []
    for point, trial in zip(history(study), study.get_trials(deepcopy=False)):
        row: dict[str, Any] = point.model_dump()
        row.update(trial.params)
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["number", "state", "value", "duration"])


def write_outputs(out: Path, summary: TuneSummary, study: optuna.Study) -> None:
    """``tune.json``, ``trials.csv`` and (when a trial completed) ``best.yaml`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "tune.json", summary.model_dump())
    with atomic_file(out / "trials.csv") as handle:
        trials_table(study).to_csv(handle, index=False)
    if summary.best_trial is not None:
        write_best_yaml(out / "best.yaml", summary.best_config)


def write_best_yaml(path: Path, config: dict[str, Any]) -> None:
    """The best configuration as a flat config YAML file (``--config`` of train/benchmark)."""
    with atomic_file(path) as handle:
        handle.write("# written by `omnifuse tune`: the user's config merged with the best trial's parameters\n")
        yaml.safe_dump(_plain(config), handle, sort_keys=False)


def _plain(value: Any) -> Any:
    """Python scalars only (numpy values from a sampler would not round-trip through YAML)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
