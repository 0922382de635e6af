"""Fit one model on one split and predict: the unit every command is built from."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.scaling import Standardizer
from omnifuse.errors import ConfigError
from omnifuse.models.features import flat_features
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import ModelEntry, get_model
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.survival.losses import time_bins
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.tasks import probabilities
from omnifuse.training.batches import TensorStore
from omnifuse.training.callbacks import BestWeights
from omnifuse.training.config import RunConfig, resolve_config
from omnifuse.training.module import FusionModule
from omnifuse.training.selection import fit_selections
from omnifuse.training.sequences import sequence_outputs
from omnifuse.training.trainer import make_trainer


class SplitContext:
    """A dataset standardised with statistics of ``train`` only, collated once.

    Shared by every method trained on the same split (benchmarks), so nothing that does not
    change between methods is rebuilt.
    """

    def __init__(
        self,
        dataset: MultimodalDataset,
        train: np.ndarray,
        val: np.ndarray | None = None,
        scaler: Standardizer | None = None,
    ) -> None:
        self.dataset = dataset
        self.train = np.asarray(train, dtype=np.int64)
        self.val = None if val is None else np.asarray(val, dtype=np.int64)
        self.scaler = scaler if scaler is not None else Standardizer.fit(dataset, self.train)
        self.store = TensorStore(self.scaler.transform(dataset))
        self._flat: np.ndarray | None = None

    def with_dataset(self, dataset: MultimodalDataset) -> "SplitContext":
        """The same split and scaler over another version of the dataset (e.g. corrupted
        test samples): statistics are never refitted on corrupted data."""
        return SplitContext(dataset, self.train, self.val, scaler=self.scaler)

    def resplit(self, train: np.ndarray, val: np.ndarray | None) -> "SplitContext":
        """Other training/validation positions over the same standardised tensors (the
        scaler is kept: ensemble members differ in their validation carving only)."""
        other = copy.copy(self)
        other.train = np.asarray(train, dtype=np.int64)
        other.val = None if val is None else np.asarray(val, dtype=np.int64)
        return other

    def flat(self) -> np.ndarray:
        """Flat, mean-imputed features of every sample (for scikit-learn baselines)."""
        if self._flat is None:
            full = self.store.full
            self._flat = flat_features(full["inputs"], full["mask"], self.dataset.modalities).numpy()
        return self._flat


@dataclass
class FittedModel:
    """A trained model with what it needs to predict on new samples of the same cohort.

    ``config`` is the run's: the trainer's half and the model's (``config.model`` is the
    model's :meth:`get_config`). Survival models carry a ``readout`` (fitted on the training
    samples) that turns their outputs into risks and survival curves.
    """

    name: str
    model: Any
    config: RunConfig
    context: SplitContext
    train_seconds: float
    best_epoch: int = -1
    history: dict[str, Any] = field(default_factory=dict)
    readout: SurvivalReadout | None = None

    @property
    def is_neural(self) -> bool:
        return isinstance(self.model, nn.Module)

    def n_params(self) -> int:
        if self.is_neural:
            return int(sum(p.numel() for p in self.model.parameters()))
        return self.model.n_params()

    def predict_proba(self, index: np.ndarray) -> np.ndarray:
        """Probabilities for dataset positions ``index`` of the context's dataset."""
        index = np.asarray(index, dtype=np.int64)
        if not self.is_neural:
            return self.model.predict_proba(self.context.flat()[index])
        task = self.context.dataset.task
        out = [probabilities(o.logits, task) for o in self.outputs(index)]
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.context.dataset.class_names) or 1))

    def predict_risk(self, index: np.ndarray) -> np.ndarray:
        """``(n,)`` risk scores of a survival model (higher: the event is expected sooner)."""
        return self._survival_readout().risk(self.predict_proba(index))

    def predict_survival(self, index: np.ndarray, times: np.ndarray | list[float]) -> np.ndarray:
        """``(n, len(times))`` survival probabilities of a survival model at ``times``."""
        readout = self._survival_readout()
        index = np.asarray(index, dtype=np.int64)
        if readout.head == "estimator":
            return self.model.predict_survival(self.context.flat()[index], np.asarray(times, dtype=np.float64))
        return readout.survival(self.predict_proba(index), times)

    def _survival_readout(self) -> SurvivalReadout:
        if self.readout is None:
            raise ConfigError(f"model '{self.name}' is not a survival model: it has no risks or survival curves")
        return self.readout

    def outputs(self, index: np.ndarray, chunk: int = 1024) -> Iterator[ModelOutput]:
        """Model outputs (eval mode, no gradients) for dataset positions ``index``, in chunks."""
        if self.model.training:  # eval() walks every submodule: skip it when already in eval mode
            self.model.eval()
        length = getattr(self.model, "sequence_length", None)
        if length:  # sequence-to-sequence: windows of consecutive epochs give the context
            with torch.no_grad():
                yield sequence_outputs(
                    self.model, self.context.store, list(self.context.dataset.sample_ids), index, length
                )
            return
        with torch.no_grad():
            for start in range(0, len(index), chunk):
                batch = self.context.store.batch(index[start : start + chunk])
                yield self.model(batch["inputs"], batch["mask"])

    def on_dataset(self, dataset: MultimodalDataset) -> "FittedModel":
        """This trained model predicting on another version of its dataset (same samples,
        e.g. with test-time corruption); training statistics are kept."""
        return replace(self, context=self.context.with_dataset(dataset))

    def on_samples(self, dataset: MultimodalDataset, scaler_context: "SplitContext | None" = None) -> "FittedModel":
        """This trained model predicting on other samples with the same modalities (a test
        set, corrupted or not); the training standardisation is kept.

        Pass ``scaler_context`` (a context built by an earlier call for the same dataset and
        scaler) to share its collated tensors between models.
        """
        context = (
            scaler_context
            if scaler_context is not None
            else SplitContext(dataset, np.arange(0), scaler=self.context.scaler)
        )
        return replace(self, context=context)

    def predict_details(self, index: np.ndarray) -> "PredictionDetails":
        """Probabilities plus per-modality probabilities, weights and which modalities were
        absent and imputed, for dataset positions ``index``."""
        return _details(self, np.asarray(index, dtype=np.int64))


@dataclass
class PredictionDetails:
    """Per-sample outputs for reports and serving.

    Attributes:
        probs: ``(n, C)`` class probabilities.
        modality_probs: per modality ``(n, C)`` probabilities of its unimodal head (if any).
        weights: ``(n, M)`` per-sample modality weights (omega, attention, gates) or None.
        absent: ``(n, M)`` True where the sample lacks the modality.
        imputed: ``(n, M)`` True where an absent modality's embedding was imputed.
        spread: ``(n, C)`` standard deviation of the probabilities over ensemble members
            (None for a single model).
    """

    probs: np.ndarray
    modality_probs: dict[str, np.ndarray]
    weights: np.ndarray | None
    absent: np.ndarray
    imputed: np.ndarray
    spread: np.ndarray | None = None


def _details(fitted: "FittedModel", index: np.ndarray) -> PredictionDetails:
    ds = fitted.context.dataset
    absent = ~ds.mask[index]
    if not fitted.is_neural:
        return PredictionDetails(fitted.predict_proba(index), {}, None, absent, np.zeros_like(absent))
    task = ds.task
    probs: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    spread: list[torch.Tensor] = []
    per_mod: dict[str, list[torch.Tensor]] = {m: [] for m in ds.modalities}
    for out in fitted.outputs(index):
        probs.append(probabilities(out.logits, task))
        if out.spread is not None:
            spread.append(out.spread)
        if out.weights is not None:
            weights.append(out.weights)
        for m, logits in out.modality_logits.items():
            per_mod[m].append(probabilities(logits, task))
    imputes = bool(getattr(fitted.model, "imputes_absent", False))
    return PredictionDetails(
        probs=torch.cat(probs).numpy(),
        modality_probs={m: torch.cat(v).numpy() for m, v in per_mod.items() if v},
        weights=torch.cat(weights).numpy() if weights else None,
        absent=absent,
        imputed=absent & imputes,
        spread=torch.cat(spread).numpy() if spread else None,
    )


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
    model is trained K times (see :func:`omnifuse.training.ensemble.fit_ensemble`).
    """
    entry = get_model(name)
    cfg = config if isinstance(config, RunConfig) else resolve_config(entry, config)
    if cfg.trainer.ensemble > 1:
        # deferred: import cycle: omnifuse.training.ensemble builds on fit_one and FittedModel from this module
        from omnifuse.training.ensemble import fit_ensemble

        return fit_ensemble(
            entry, context, cfg, run_dir=run_dir, checkpoints=checkpoints, resume=resume, callbacks=callbacks
        )
    return fit_one(entry, context, cfg, run_dir=run_dir, checkpoints=checkpoints, resume=resume, callbacks=callbacks)


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
        ranked = ds.task in ("binary", "multiclass") and classes_seen == len(ds.class_names)
        return "val_auroc" if ranked else "val_loss"
    if monitor == "val_auroc" and ds.task != "multilabel" and classes_seen < 2:
        raise ConfigError(
            "monitor val_auroc needs both classes in the validation set, which has one; "
            "use --set monitor=val_loss or a larger val_fraction"
        )
    return monitor


def _is_callback(hook: object) -> bool:
    return isinstance(hook, L.Callback)
