"""The LightningModule that trains any model honouring the model contract."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import lightning as L
import numpy as np
import torch
import torchmetrics
from torch import nn

from omnifuse.balance.base import Batch, Strategy
from omnifuse.errors import OmnifuseError
from omnifuse.models.output import ModelOutput
from omnifuse.survival.losses import survival_targets
from omnifuse.survival.metrics import harrell_c
from omnifuse.tasks import probabilities, task_loss
from omnifuse.training.config import TrainerConfig
from omnifuse.training.losses import unimodal_loss

#: Key of the strategies' states in a checkpoint.
STRATEGIES_KEY = "omnifuse_strategies"


class TrainingDiverged(OmnifuseError):
    """The loss became NaN or infinite."""


def move_batch(batch: Batch, module: L.LightningModule) -> Batch:
    """``batch`` on the module's device (through the module's own transfer hook)."""
    return module.transfer_batch_to_device(batch, module.device, 0)


def world_size(trainer: Any) -> int:
    """Number of processes of the run ``trainer`` drives (1 without a trainer)."""
    return int(getattr(trainer, "world_size", 1) or 1)


def reduce_sum(tensor: torch.Tensor, trainer: Any) -> torch.Tensor:
    """``tensor`` summed over the processes of a distributed run (unchanged in one process)."""
    if world_size(trainer) > 1:
        return trainer.strategy.reduce(tensor, reduce_op="sum")
    return tensor


class FusionModule(L.LightningModule):
    """Adds the task loss to the model's own (already weighted) losses and any strategy terms.

    The module is the :class:`~omnifuse.balance.base.TrainingRun` its strategies see: it calls
    their hooks (see :mod:`omnifuse.balance.base`) with the batch and the model's output, and
    keeps their state in its checkpoints. The task loss is weighted by the product of the
    strategies' ``task_weight`` (1 unless an objective weights it, e.g. OmniFuse's). A model
    may set ``unimodal_weight`` (default 0, from its model config) for the loss of its
    unimodal heads. ``config`` is the trainer's.

    Survival tasks: batches carry ``y`` as (time, event) columns; with ``time_edges`` (a
    logistic-hazard head) every batch moved to the device gets
    :func:`~omnifuse.survival.losses.survival_targets` instead, so losses need no edges.

    Logged: ``train_loss``, ``val_loss`` and ``val_auroc``, ``val_accuracy`` (classification)
    or ``val_cindex`` (survival: Harrell's C of the validation samples).
    """

    def __init__(
        self,
        model: nn.Module,
        task: str,
        n_classes: int,
        config: TrainerConfig,
        hooks: list[Strategy] | None = None,
        time_edges: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.n_classes = n_classes
        self.config = config
        self.hooks = list(hooks or [])
        for hook in self.hooks:
            hook.check_task(task)
        modalities = getattr(model, "modalities", None)
        if not isinstance(modalities, tuple):
            raise OmnifuseError(f"{type(model).__name__} names no modalities (a 'modalities' tuple) to train on")
        self.modalities: tuple[str, ...] = modalities
        self.time_edges = None if time_edges is None else np.asarray(time_edges, dtype=np.float64)
        self.val_auroc = _auroc(task, n_classes) if task != "survival" else None
        self.val_accuracy = _accuracy(task, n_classes) if task != "survival" else None
        self._val_risk: list[torch.Tensor] = []
        self._val_y: list[torch.Tensor] = []
        self._step: tuple[ModelOutput, Batch] | None = None  # the training batch in flight
        self._epoch_open = False

    # ------------------------------------------------------------------ what strategies may use
    @property
    def seed(self) -> int:
        return int(self.config.seed)

    @property
    def world_size(self) -> int:
        return world_size(self._trainer)

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes of a distributed run (unchanged in one process)."""
        return reduce_sum(tensor, self._trainer)

    def training_batches(self) -> Iterator[Batch]:
        """One pass over the trainer's training batches, each moved to the module's device."""
        loader = self.trainer.train_dataloader if self._trainer is not None else None
        for batch in loader if loader is not None else ():
            yield move_batch(batch, self)

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        batch = super().transfer_batch_to_device(batch, device, dataloader_idx)
        if self.time_edges is not None and isinstance(batch, dict) and batch["y"].shape[-1] == 2:
            y = batch["y"]
            batch = {**batch, "y": survival_targets(y[:, 0], y[:, 1], self.time_edges)}
        return batch

    # ------------------------------------------------------------------ training
    def forward(self, inputs: dict[str, Any], mask: torch.Tensor) -> ModelOutput:
        return self.model(inputs, mask)

    def compute_losses(self, batch: Batch, output: ModelOutput) -> dict[str, torch.Tensor]:
        """Every loss term of a training batch, by name (the total is their sum)."""
        y, mask = batch["y"], batch["mask"]
        weight = math.prod(float(hook.task_weight(self)) for hook in self.hooks)
        terms = {"task": weight * task_loss(output.logits, y, self.task)}
        terms.update(output.losses)
        unimodal_weight = float(getattr(self.model, "unimodal_weight", 0.0))
        if unimodal_weight > 0 and output.modality_logits:
            terms["unimodal"] = unimodal_weight * unimodal_loss(
                output.modality_logits, y, mask, self.modalities, self.task
            )
        for hook in self.hooks:
            terms.update(hook.loss_terms(output, batch, self))
        return terms

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        for hook in self.hooks:
            batch = hook.transform_batch(batch, self)
        output = self.model(batch["inputs"], batch["mask"])
        terms = self.compute_losses(batch, output)
        loss = torch.stack(list(terms.values())).sum()
        if not torch.isfinite(loss):
            bad = [k for k, v in terms.items() if not torch.isfinite(v)]
            raise TrainingDiverged(
                f"the loss became {loss.item()} at epoch {self.current_epoch}, batch {batch_idx} "
                f"(terms: {', '.join(bad)}); lower the learning rate or check the inputs"
            )
        self._step = (output, batch)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["y"]))
        return loss

    def on_after_backward(self) -> None:
        if self._step is not None:
            for hook in self.hooks:
                hook.after_backward(*self._step, self)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        step, self._step = self._step, None
        if step is not None:
            for hook in self.hooks:
                hook.after_batch(*step, self)

    def on_train_start(self) -> None:
        for hook in self.hooks:
            hook.train_start(self)

    def on_train_epoch_start(self) -> None:
        self._epoch_open = True
        for hook in self.hooks:
            hook.training_epoch_start(self)

    def on_train_epoch_end(self) -> None:
        self._close_epoch()

    def _close_epoch(self) -> None:
        """The strategies' ``training_epoch_done``, once per epoch after its last training batch."""
        if self._epoch_open:
            self._epoch_open = False
            for hook in self.hooks:
                hook.training_epoch_done(self)

    # ------------------------------------------------------------------ validation
    def on_validation_start(self) -> None:
        if not self.trainer.sanity_checking:
            self._close_epoch()

    def on_validation_epoch_start(self) -> None:
        if not self.trainer.sanity_checking:
            for hook in self.hooks:
                hook.validation_epoch_start(self)

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        output = self.model(batch["inputs"], batch["mask"])
        loss = task_loss(output.logits, batch["y"], self.task)
        probs = probabilities(output.logits, self.task)
        n = len(batch["y"])
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        if self.val_auroc is None or self.val_accuracy is None:  # survival: C-index at epoch end
            self._val_risk.append(survival_risk(probs).detach().cpu())
            self._val_y.append(batch["y"][:, :2].detach().cpu())
        else:
            self.val_auroc.update(_metric_probs(probs, self.task), _metric_target(batch["y"], self.task))
            self.val_accuracy.update(_metric_probs(probs, self.task), _metric_target(batch["y"], self.task))
            self.log("val_auroc", self.val_auroc, on_step=False, on_epoch=True, batch_size=n)
            self.log("val_accuracy", self.val_accuracy, on_step=False, on_epoch=True, batch_size=n)
        if not self.trainer.sanity_checking:
            for hook in self.hooks:
                hook.validation_batch(output, batch, self)

    def on_validation_epoch_end(self) -> None:
        if self._val_risk:
            risk, y = torch.cat(self._val_risk).numpy(), torch.cat(self._val_y).numpy()
            self._val_risk, self._val_y = [], []
            self.log("val_cindex", _concordance(y[:, 0], y[:, 1], risk))
        if not self.trainer.sanity_checking:
            for hook in self.hooks:
                hook.validation_epoch_done(self)

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[STRATEGIES_KEY] = [hook.state_dict() for hook in self.hooks]

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        for hook, state in zip(self.hooks, checkpoint.get(STRATEGIES_KEY, [])):
            hook.load_state_dict(state)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)


def survival_risk(outputs: torch.Tensor) -> torch.Tensor:
    """``(B,)`` risk from a survival head's readable outputs (see :mod:`omnifuse.tasks`): the
    log-risk of a Cox head, the mean probability of not surviving each interval otherwise
    (as :class:`~omnifuse.survival.readout.SurvivalReadout` computes it)."""
    return outputs[:, 0] if outputs.shape[-1] == 1 else (1.0 - outputs).mean(dim=1)


def _concordance(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C, NaN where undefined (no event or no comparable pair: early stopping skips it)."""
    if not event.astype(bool).any() or not np.isfinite(risk).all():
        return float("nan")
    try:
        return harrell_c(time, event.astype(bool), risk)
    except OmnifuseError:
        return float("nan")


def _auroc(task: str, n_classes: int) -> torchmetrics.Metric:
    return _task_metric(torchmetrics.AUROC, task, n_classes)


def _accuracy(task: str, n_classes: int) -> torchmetrics.Metric:
    return _task_metric(torchmetrics.Accuracy, task, n_classes)


def _task_metric(cls: type, task: str, n_classes: int) -> torchmetrics.Metric:
    """A torchmetrics metric configured for the task type."""
    if task == "binary":
        return cls(task="binary")
    if task == "multiclass":
        return cls(task="multiclass", num_classes=n_classes)
    return cls(task="multilabel", num_labels=n_classes)


def _metric_probs(probs: torch.Tensor, task: str) -> torch.Tensor:
    return probs[:, 1] if task == "binary" else probs


def _metric_target(y: torch.Tensor, task: str) -> torch.Tensor:
    return y.long() if task != "multilabel" else y.int()
