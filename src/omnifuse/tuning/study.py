"""The Optuna study of a tuning run: in memory, or resumable in SQLite at ``OUT/study.db``.

Several processes may work on the same study (start the later ones with ``resume``): the
trial count is shared, and a trial whose process died is marked failed once its heartbeat
has been silent for :data:`GRACE_SECONDS`, then retried once with the same parameters.
"""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path
from typing import Any, Literal

import optuna

from omnifuse.errors import ConfigError

STUDY_NAME = "omnifuse-tune"
DB_NAME = "study.db"
HEARTBEAT_SECONDS = 10
GRACE_SECONDS = 30
#: Trial states that count towards the requested number of trials.
COUNTED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def make_pruner(keep: float = 33.0, n_startup_trials: int = 4, n_warmup_steps: int = 2) -> optuna.pruners.BasePruner:
    """Percentile stopping (median stopping with ``keep=50``): a trial stops once its best score
    so far falls out of the top ``keep`` percent of the complete trials at the same step (after
    ``n_startup_trials`` complete trials and ``n_warmup_steps`` epochs). Keeping a third is
    what lets 40 OmniFuse trials run in minutes on two cores (BENCHMARKS.md)."""
    return optuna.pruners.PercentilePruner(keep, n_startup_trials=n_startup_trials, n_warmup_steps=n_warmup_steps)


#: Which way the objective improves.
Direction = Literal["minimize", "maximize"]


def open_study(
    out: Path | None,
    resume: bool,
    identity: dict[str, Any],
    direction: Direction,
    seed: int,
    pruner: optuna.pruners.BasePruner | None = None,
) -> optuna.Study:
    """A new study (in memory when ``out`` is None), or the one in ``out`` when ``resume``.

    Raises ConfigError when ``out`` already holds a study and ``resume`` is not given, when
    there is nothing to resume, or when the stored study was started for another run
    (``identity``: model, metric, folds, splits, config, space).
    """
    pruner = pruner or make_pruner()
    if out is None:
        return optuna.create_study(direction=direction, sampler=optuna.samplers.TPESampler(seed=seed), pruner=pruner)
    db = Path(out) / DB_NAME
    if db.exists() and not resume:
        raise ConfigError(
            f"{out}: already holds a tuning study ({DB_NAME}); pass --resume to continue it or choose another --out"
        )
    if resume and not db.exists():
        raise ConfigError(f"{out}: nothing to resume (no {DB_NAME})")
    db.parent.mkdir(parents=True, exist_ok=True)
    storage = _storage(db)
    study = optuna.create_study(
        study_name=STUDY_NAME, storage=storage, direction=direction, load_if_exists=True, pruner=pruner
    )
    if resume and study.user_attrs.get("identity") is not None:
        check_identity(out, study.user_attrs["identity"], identity)
    else:
        study.set_user_attr("identity", identity)
    # a resumed process draws new points, not the first ones of the original run again
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def _storage(db: Path) -> optuna.storages.RDBStorage:
    """SQLite storage with heartbeats; a trial whose process died is retried once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        params = inspect.signature(optuna.storages.RDBStorage).parameters
        retry: dict[str, Any]
        if "heartbeat_stale_trial_callback" in params:  # optuna >= 4.9
            retry = {"heartbeat_stale_trial_callback": optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)}
        else:
            retry = {"failed_trial_callback": optuna.storages.RetryFailedTrialCallback(max_retry=1)}
        return optuna.storages.RDBStorage(
            f"sqlite:///{db.resolve()}",
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            engine_kwargs={"connect_args": {"timeout": 60}},
            **retry,
        )


def check_identity(out: Path, stored: dict[str, Any], identity: dict[str, Any]) -> None:
    """A resumed study must tune the same model, metric, folds, splits, config and space."""
    changed = [key for key in sorted(set(stored) | set(identity)) if stored.get(key) != identity.get(key)]
    if changed:
        raise ConfigError(f"{out}: cannot resume a study started with a different {', '.join(changed)}")


def counted(study: optuna.Study) -> int:
    """Trials that finished (complete or pruned)."""
    return len(study.get_trials(deepcopy=False, states=COUNTED))
