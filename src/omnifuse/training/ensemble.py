"""Train a seed ensemble: K members with different seeds and validation carvings."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from omnifuse.data.splits import holdout_indices
from omnifuse.models.ensemble import EnsembleModel
from omnifuse.models.registry import ModelEntry
from omnifuse.training.config import RunConfig
from omnifuse.training.fit import fit_one, fit_readout
from omnifuse.training.fitted import FittedModel, SplitContext
from omnifuse.training.posthoc import wants_posthoc


def fit_ensemble(
    entry: ModelEntry,
    context: SplitContext,
    run: RunConfig,
    run_dir: Path | None = None,
    checkpoints: bool = False,
    resume: bool = False,
    callbacks: list[Any] | None = None,
) -> FittedModel:
    """``ensemble`` members of ``entry``; member k has seed ``seed + k`` and, for
    k >= 1, its own validation set carved from the training and validation samples of
    ``context`` (never from anything else; from the training samples only when a temperature
    or conformal sets will be fitted on ``context.val``, which then stays unseen by every
    member). A baseline (not a network) is fitted once.

    Costs K single trainings (run one after another); with a ``run_dir`` each member keeps
    its checkpoints and logs in ``run_dir/member-k``.
    """
    cfg = run.trainer
    k_members = cfg.ensemble
    single = replace(run, trainer=cfg.model_copy(update={"ensemble": 1}))
    first = fit_one(
        entry,
        context,
        single,
        run_dir=_member_dir(run_dir, 0),
        checkpoints=checkpoints,
        resume=resume,
        callbacks=callbacks,
    )
    if not first.is_neural:
        return first
    held_out = context.val is None or wants_posthoc(cfg)  # the validation samples calibrate
    pool = context.train if held_out else np.concatenate([context.train, context.val])
    members = [first]
    edges = np.asarray(first.readout.edges) if first.readout is not None and first.readout.edges else None
    for k in range(1, k_members):
        train, val = holdout_indices(context.dataset, pool, cfg.val_fraction, seed=cfg.seed + k)
        member_cfg = replace(single, trainer=single.trainer.model_copy(update={"seed": cfg.seed + k}))
        members.append(
            fit_one(
                entry,
                context.resplit(train, val),
                member_cfg,
                run_dir=_member_dir(run_dir, k),
                checkpoints=checkpoints,
                resume=resume,
                callbacks=callbacks,
                time_edges=edges,
            )
        )
    model = EnsembleModel([m.model for m in members], context.dataset.task)
    history = dict(first.history)
    history["ensemble"] = {
        "members": k_members,
        "seeds": [m.config.trainer.seed for m in members],
        "best_epochs": [m.best_epoch for m in members],
        "best_scores": [m.history.get("best_score") for m in members],
    }
    config = replace(
        first.config, trainer=first.config.trainer.model_copy(update={"ensemble": k_members, "seed": cfg.seed})
    )
    fitted = FittedModel(
        entry.name,
        model,
        config,
        context,
        float(sum(m.train_seconds for m in members)),
        best_epoch=first.best_epoch,
        history=history,
    )
    if first.readout is not None:  # the ensemble's own baseline hazard, from its averaged outputs
        fitted.readout = fit_readout(fitted, first.readout.head, edges)
    return fitted


def _member_dir(run_dir: Path | None, k: int) -> Path | None:
    return None if run_dir is None else (run_dir if k == 0 else run_dir / f"member-{k}")
