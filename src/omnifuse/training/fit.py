"""Fit one model on one split and predict: the unit every command is built from."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from threadpoolctl import threadpool_limits

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.models.registry import ModelEntry, get_model
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.survival.losses import time_bins
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.tasks import SINGLE_LABEL_TASKS
from omnifuse.training.callbacks import BestWeights
from omnifuse.training.config import RunConfig, resolve_config
from omnifuse.training.fitted import FittedModel, PredictionDetails, SplitContext
from omnifuse.training.module import FusionModule
from omnifuse.training.posthoc import check_posthoc, fit_posthoc
from omnifuse.training.selection import fit_selections
from omnifuse.training.trainer import make_trainer

__all__ = ["FittedModel", "PredictionDetails", "SplitContext", "fit", "fit_one", "fit_readout", "resolve_monitor"]


def fit(
    name: str,
    context: SplitContext,
    config: RunConfig | Mapping[str, Any] | None = None,
    run_dir: Path | None = None,
    checkpoints: bool = False,
    resume: bool = False,
    callbacks: list[Any] | None = None,
) -> FittedModel:
    """Train model ``name`` on ``context.train`` (early stopping on ``context.val``).

    ``config`` is a resolved :class:`RunConfig` or a flat mapping of the trainer's keys and
    the model's (overlaid on the model's defaults; a key the model does not own is an error).
    ``resume`` continues from ``run_dir/checkpoints/last.ckpt`` when it exists; extra
    Lightning ``callbacks`` are added to the Trainer. With ``ensemble`` K > 1 a neural
    model is trained K times (see :func:`omnifuse.training.ensemble.fit_ensemble`). A
    temperature and conformal sets (``calibrate``, ``conformal``) are then fitted on
    ``context.val`` (:func:`omnifuse.training.posthoc.fit_posthoc`).
    """
    entry = get_model(name)
    cfg = config if isinstance(config, RunConfig) else resolve_config(entry, config)
    check_posthoc(cfg.trainer, context.dataset.task)  # before any training
    if cfg.trainer.ensemble > 1:
        # deferred: import cycle: omnifuse.training.ensemble builds on fit_one from this module
        from omnifuse.training.ensemble import fit_ensemble

        fitted = fit_ensemble(
            entry, context, cfg, run_dir=run_dir, checkpoints=checkpoints, resume=resume, callbacks=callbacks
        )
    else:
        fitted = fit_one(
            entry, context, cfg, run_dir=run_dir, checkpoints=checkpoints, resume=resume, callbacks=callbacks
        )
    return fit_posthoc(fitted)


def fit_one(
    entry: ModelEntry,
    context: SplitContext,
    run: RunConfig,
    run_dir: Path | None = None,
    checkpoints: bool = False,
    resume: bool = False,
    callbacks: list[Any] | None = None,
    time_edges: np.ndarray | None = None,
) -> FittedModel:
    """Train one model of ``entry`` with the resolved config ``run`` (see :func:`fit`).

    A logistic-hazard survival head cuts its time intervals on the training samples' event
    times, or takes ``time_edges`` (ensemble members share the first member's).
    """
    name = entry.name
    cfg = run.trainer
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    ds = context.dataset
    edges = _time_edges(run, context, time_edges)
    if edges is not None and getattr(run.model, "survival_bins", None) != len(edges) - 1:
        run = replace(run, model=run.model.model_copy(update={"survival_bins": len(edges) - 1}))
    built = entry.build(ds, run.model)
    model, hooks = built if isinstance(built, tuple) else (built, [])
    start = time.perf_counter()
    if isinstance(model, SklearnBaseline):
        y = ds.y[context.train]
        # num_threads also caps BLAS/OpenMP: oversubscribed BLAS threads make lbfgs several times slower
        with threadpool_limits(cfg.num_threads if cfg.num_threads > 0 else None):
            model.fit(context.flat()[context.train], y, seed=cfg.seed)
        fitted = FittedModel(name, model, run, context, time.perf_counter() - start)
        fitted.readout = fit_readout(fitted, "estimator")
        return fitted
    val_index = context.val if context.val is not None else context.train
    cfg = cfg.model_copy(update={"monitor": resolve_monitor(cfg.monitor, ds, val_index)})
    run = replace(run, trainer=cfg)
    selected = fit_selections(model, context)
    units = len(ds.class_names) if ds.task != "survival" else int(getattr(model, "n_classes", 1))
    module = FusionModule(model, ds.task, units, cfg, hooks=hooks, time_edges=edges)
    extra = [h for h in hooks if _is_callback(h)] + list(callbacks or [])
    trainer = make_trainer(cfg, run_dir=run_dir, callbacks=extra, checkpoints=checkpoints)
    length = getattr(model, "sequence_length", None)
    if length:  # blocks of consecutive epochs (see training.sequences)
        train_loader = context.store.sequence_loader(context.train, length, cfg.batch_size, shuffle=True, seed=cfg.seed)
    else:
        train_loader = context.store.loader(context.train, cfg.batch_size, shuffle=True, seed=cfg.seed)
    val_loader = (
        context.store.sequence_loader(val_index, length, max(cfg.batch_size, 256 // length * length))
        if length
        else context.store.loader(val_index, max(cfg.batch_size, 256))
    )
    ckpt = "last" if resume and run_dir is not None and (run_dir / "checkpoints" / "last.ckpt").exists() else None
    trainer.fit(module, train_loader, val_loader, ckpt_path=ckpt)
    # Trainer.callbacks is set by Lightning's callback connector, not declared on the class
    best = next((c for c in trainer.callbacks if isinstance(c, BestWeights)), None)  # type: ignore[attr-defined]
    history: dict[str, Any] = {"epochs": trainer.current_epoch, "best_score": getattr(best, "best", None)}
    if selected:
        history["selected_features"] = selected
    for hook in hooks:
        if hasattr(hook, "trace"):
            history[getattr(hook, "trace_name", type(hook).__name__)] = hook.trace()
    fitted = FittedModel(
        name,
        model,
        run,
        context,
        time.perf_counter() - start,
        best_epoch=getattr(best, "best_epoch", -1),
        history=history,
    )
    if ds.task == "survival":
        fitted.readout = fit_readout(fitted, "cox" if edges is None else "logistic_hazard", edges)
    return fitted


def fit_readout(fitted: FittedModel, head: str, edges: np.ndarray | None = None) -> SurvivalReadout | None:
    """The survival readout of a trained model, from its outputs on its training samples
    (None for a model of another task)."""
    ds = fitted.context.dataset
    if ds.task != "survival":
        return None
    train = fitted.context.train
    y = ds.y[train]
    outputs = fitted.predict_proba(train) if head != "estimator" else np.zeros((len(train), 1))
    return SurvivalReadout.fit(head, outputs, y["time"], y["event"], edges, ds.labels.time_unit)


def _time_edges(run: RunConfig, context: SplitContext, given: np.ndarray | None) -> np.ndarray | None:
    """Interval edges of a logistic-hazard survival head (None for any other model)."""
    ds = context.dataset
    if ds.task != "survival" or getattr(run.model, "survival_head", "cox") != "logistic_hazard":
        return None
    if given is not None:
        return np.asarray(given, dtype=np.float64)
    y = ds.y[context.train]
    return time_bins(y["time"], y["event"], int(getattr(run.model, "survival_bins", 10)))


def resolve_monitor(monitor: str, ds: MultimodalDataset, val_index: np.ndarray) -> str:
    """The metric early stopping watches: ``auto`` is the validation AUROC for binary and
    multiclass tasks whose validation samples hold every class, else the validation loss.

    Raises:
        ConfigError: ``val_auroc`` asked for explicitly with a single class in validation.
    """
    if ds.task == "survival":
        has_event = bool(ds.y[val_index]["event"].any())
        if monitor in ("val_auroc", "val_accuracy"):
            raise ConfigError(f"monitor {monitor} is for classification; survival runs watch val_cindex or val_loss")
        if monitor == "auto":
            return "val_cindex" if has_event else "val_loss"
        return monitor
    if monitor == "val_cindex":
        raise ConfigError("monitor val_cindex is for survival tasks; use val_auroc, val_accuracy or val_loss")
    classes_seen = len(np.unique(ds.y[val_index])) if ds.task != "multilabel" else 0
    if monitor == "auto":
        ranked = ds.task in SINGLE_LABEL_TASKS and classes_seen == len(ds.class_names)
        return "val_auroc" if ranked else "val_loss"
    if monitor == "val_auroc" and ds.task != "multilabel" and classes_seen < 2:
        raise ConfigError(
            "monitor val_auroc needs both classes in the validation set, which has one; "
            "use --set monitor=val_loss or a larger val_fraction"
        )
    return monitor


def _is_callback(hook: object) -> bool:
    return isinstance(hook, L.Callback)
