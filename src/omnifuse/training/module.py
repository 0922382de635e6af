"""The LightningModule that trains any model honouring the model contract."""

from __future__ import annotations

from typing import Any, Protocol

import lightning as L
import torch
import torchmetrics
from torch import nn

from omnifuse.errors import OmnifuseError
from omnifuse.models.output import ModelOutput
from omnifuse.training.config import TrainerConfig
from omnifuse.training.losses import probabilities, task_loss, unimodal_loss


class TrainingDiverged(OmnifuseError):
    """The loss became NaN or infinite."""


class LossHook(Protocol):
    """A strategy contributing loss terms or changing the batch (see omnifuse.balance)."""

    def transform_batch(self, batch: dict[str, Any], module: "FusionModule") -> dict[str, Any]: ...

    def loss_terms(self, output: ModelOutput, batch: dict[str, Any], module: "FusionModule") -> dict[str, torch.Tensor]: ...


class FusionModule(L.LightningModule):
    """Adds the task loss to the model's own (already weighted) losses and any strategy terms.

    A model may set ``task_loss_weight`` (default 1) when its objective weights the task
    loss itself (OmniFuse: lambda2 * alpha), and ``unimodal_weight`` (default 0, from its
    model config) for the loss of its unimodal heads. ``config`` is the trainer's.

    Logged: ``train_loss``, ``val_loss``, ``val_auroc``, ``val_accuracy``.
    """

    def __init__(self, model: nn.Module, task: str, n_classes: int, config: TrainerConfig,
                 hooks: list[LossHook] | None = None) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.n_classes = n_classes
        self.config = config
        self.hooks = list(hooks or [])
        self.modalities: tuple[str, ...] = tuple(model.modalities)
        self.last_output: ModelOutput | None = None
        self.last_batch: dict[str, Any] | None = None
        self.val_auroc = _auroc(task, n_classes)
        self.val_accuracy = _accuracy(task, n_classes)

    def forward(self, inputs: dict[str, Any], mask: torch.Tensor) -> ModelOutput:
        return self.model(inputs, mask)

    def compute_losses(self, batch: dict[str, Any], output: ModelOutput) -> dict[str, torch.Tensor]:
        """Every loss term of a training batch, by name (the total is their sum)."""
        y, mask = batch["y"], batch["mask"]
        weight = float(getattr(self.model, "task_loss_weight", 1.0))
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

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
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
        self.last_output, self.last_batch = output, batch
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(batch["y"]))
        return loss

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        output = self.model(batch["inputs"], batch["mask"])
        loss = task_loss(output.logits, batch["y"], self.task)
        probs = probabilities(output.logits, self.task)
        n = len(batch["y"])
        self.val_auroc.update(_metric_probs(probs, self.task), _metric_target(batch["y"], self.task))
        self.val_accuracy.update(_metric_probs(probs, self.task), _metric_target(batch["y"], self.task))
        self.log("val_loss", loss, on_step=False, on_epoch=True, batch_size=n, sync_dist=True)
        self.log("val_auroc", self.val_auroc, on_step=False, on_epoch=True, batch_size=n)
        self.log("val_accuracy", self.val_accuracy, on_step=False, on_epoch=True, batch_size=n)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(self.model.parameters(), lr=self.config.lr, weight_decay=self.config.weight_decay)


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
