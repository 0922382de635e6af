"""Small Lightning callbacks used by every run."""

from __future__ import annotations

import copy
from typing import Any

import lightning as L
import torch


class StepSeed(L.Callback):
    """Reseeds torch before every training step from (seed, global step), so a resumed run
    draws the same dropout masks and augmentations as an uninterrupted one, whatever else
    consumed random numbers in between (data-loader iterators do)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        torch.manual_seed(self.seed * 1_000_003 + trainer.global_step)


class BestWeights(L.Callback):
    """Keeps the weights of the best validation epoch in memory and restores them at the end
    (cross-validation runs: no checkpoint files)."""

    def __init__(self, monitor: str, mode: str) -> None:
        self.monitor = monitor
        self.mode = mode
        self.best: float | None = None
        self.best_epoch: int = -1
        self.state: dict[str, torch.Tensor] | None = None

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or not torch.isfinite(value):
            return
        current = float(value)
        better = self.best is None or (current < self.best if self.mode == "min" else current > self.best)
        if better:
            self.best, self.best_epoch = current, trainer.current_epoch
            self.state = copy.deepcopy(pl_module.state_dict())

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.state is not None:
            pl_module.load_state_dict(self.state)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "state": self.state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = state_dict.get("best")
        self.best_epoch = state_dict.get("best_epoch", -1)
        self.state = state_dict.get("state")
