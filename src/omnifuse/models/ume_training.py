"""The training of ``ume`` (:mod:`omnifuse.models.ume`): its hook, which keeps each modality's
own best epoch and fits the combiner at the end of training, and its registration."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping
from sklearn.metrics import roc_auc_score
from torch import nn

from omnifuse.balance.base import Batch, Strategy, StrategyOutput, TrainingRun
from omnifuse.errors import ConfigError
from omnifuse.models.registry import ModelEntry, first_line, register
from omnifuse.models.ume import UmeConfig, UniModalEnsemble
from omnifuse.tasks import SINGLE_LABEL_TASKS


# ---------------------------------------------------------------------- the training hook
class UnimodalSelection(Strategy, L.Callback):
    """The training hook of ``ume``: per-modality best epochs, stopping and the combiner.

    As a strategy it sees every validation batch and scores each unimodal head on the samples
    that have its modality; as a Lightning callback it keeps training while any modality
    improved within the early-stopping patience (and stops once none did), and at the end of
    training restores each modality's best encoder + head and fits the combiner.
    """

    name = "ume-selection"
    tasks = SINGLE_LABEL_TASKS
    trace_name = "ume"

    def __init__(self, per_modality_best: bool = True, combiner_data: str = "val") -> None:
        self.per_modality_best = per_modality_best
        self.combiner_data = combiner_data
        self.best: dict[str, float] = {}
        self.best_epoch: dict[str, int] = {}
        self.since: dict[str, int] = {}
        self.snapshots: dict[str, dict[str, dict[str, torch.Tensor]]] = {}
        self.summary: dict[str, Any] = {}
        self._val: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []

    # ------------------------------------------------------------------ validation (strategy hooks)
    def validation_epoch_start(self, run: TrainingRun) -> None:
        self._val = []

    def validation_batch(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        model = _ume(run.model)
        stacked = torch.stack([output.modality_logits[m] for m in model.modalities], dim=1)
        self._val.append((stacked.detach().cpu(), batch["mask"].detach().cpu().bool(), batch["y"].detach().cpu()))

    def validation_epoch_done(self, run: TrainingRun) -> None:
        if not self._val:
            return
        model = _ume(run.model)
        stacked = torch.cat([v[0] for v in self._val])
        present = torch.cat([v[1] for v in self._val]).numpy()
        y = torch.cat([v[2] for v in self._val]).numpy()
        self._val = []
        for j, name in enumerate(model.modalities):
            rows = present[:, j]
            if not rows.any():
                continue
            score = _head_score(stacked[rows, j], y[rows], model.task)
            if name not in self.best or score > self.best[name]:
                self.best[name], self.best_epoch[name], self.since[name] = score, int(run.current_epoch), 0
                if self.per_modality_best:
                    self.snapshots[name] = {
                        "encoder": _copy_state(model.encoders[name]),
                        "head": _copy_state(model.heads[name]),
                    }
            else:
                self.since[name] = self.since.get(name, 0) + 1

    # ------------------------------------------------------------------ stopping and the end (callback hooks)
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.per_modality_best or not self.since:
            return
        stoppers = [c for c in trainer.callbacks if isinstance(c, EarlyStopping)]  # type: ignore[attr-defined]
        if not stoppers:
            return
        # every modality stops on its own validation score, not on the mean's: while one of
        # them improved within the patience, early stopping (which runs after this hook) is
        # held back; once none did, the run stops
        patience = min(int(c.patience) for c in stoppers)
        if all(n >= patience for n in self.since.values()):
            trainer.should_stop = True
        else:
            for stopper in stoppers:
                stopper.wait_count = 0

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        model = _ume(getattr(pl_module, "model", pl_module))
        for name, state in self.snapshots.items():
            model.encoders[name].load_state_dict(state["encoder"])
            model.heads[name].load_state_dict(state["head"])
        loader = trainer.val_dataloaders if self.combiner_data == "val" else trainer.train_dataloader
        scores, present, y = _collect(model, _batches(loader, pl_module))
        aurocs = {m: v for m, v in self.best.items()}
        self.summary = model.fit_combiner(scores, present, y, aurocs)

    def trace(self) -> dict[str, Any]:
        """What the run's history keeps: each modality's best epoch and score, and the combiner."""
        return {"best_epoch": dict(self.best_epoch), "best_score": dict(self.best), "combiner": self.summary}

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        return {
            "best": dict(self.best),
            "best_epoch": dict(self.best_epoch),
            "since": dict(self.since),
            "snapshots": self.snapshots,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best = dict(state_dict.get("best", {}))
        self.best_epoch = dict(state_dict.get("best_epoch", {}))
        self.since = dict(state_dict.get("since", {}))
        self.snapshots = dict(state_dict.get("snapshots", {}))


def _ume(model: Any) -> UniModalEnsemble:
    if not isinstance(model, UniModalEnsemble):
        raise ConfigError(f"the ume training hook needs a UniModalEnsemble, got {type(model).__name__}")
    return model


def _copy_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().clone() for k, v in copy.deepcopy(module.state_dict()).items()}


def _head_score(logits: torch.Tensor, y: np.ndarray, task: str) -> float:
    """Validation score of one head (higher is better): its AUROC, or minus its loss where
    the AUROC is undefined (a class missing among these samples)."""
    probs = torch.softmax(logits.float(), dim=-1).numpy()
    labels = y.astype(np.int64)
    try:
        if len(np.unique(labels)) == logits.shape[-1] or (task == "binary" and len(np.unique(labels)) == 2):
            if task == "binary":
                return float(roc_auc_score(labels, probs[:, 1]))
            return float(roc_auc_score(labels, probs, multi_class="ovr", labels=list(range(logits.shape[-1]))))
    except ValueError:
        pass
    return -float(nn.functional.cross_entropy(logits.float(), torch.as_tensor(labels)))


def _batches(loader: Any, pl_module: L.LightningModule) -> Iterable[Batch]:
    loaders = loader if isinstance(loader, (list, tuple)) else [loader]
    for one in loaders:
        for batch in one if one is not None else ():
            yield pl_module.transfer_batch_to_device(batch, pl_module.device, 0)


def _collect(model: UniModalEnsemble, batches: Iterable[Batch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unimodal scores, availability and labels of ``batches`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    scores, present, ys = [], [], []
    with torch.no_grad():
        for batch in batches:
            out = model(batch["inputs"], batch["mask"])
            stacked = torch.stack([out.modality_logits[m] for m in model.modalities], dim=1)
            scores.append(model.scores(stacked).float().cpu())
            present.append(batch["mask"].bool().cpu())
            ys.append(batch["y"].cpu())
    model.train(was_training)
    if not scores:
        m = len(model.modalities)
        return np.zeros((0, m, model.score_width)), np.zeros((0, m), dtype=bool), np.zeros(0)
    return torch.cat(scores).numpy(), torch.cat(present).numpy(), torch.cat(ys).numpy()


def build(schema: Any, config: UmeConfig) -> tuple[UniModalEnsemble, list[Strategy]]:
    """The model and its training hook."""
    model = UniModalEnsemble.from_config(schema, config)
    options = model.config.model
    return model, [UnimodalSelection(options.per_modality_best, options.combiner_data)]


register(
    ModelEntry(
        UniModalEnsemble.name,
        UniModalEnsemble.kind,
        UniModalEnsemble.paper,
        first_line(UniModalEnsemble.__doc__),
        build,
        space=dict(UniModalEnsemble.search_space),
        config_class=UmeConfig,
        model_class=UniModalEnsemble,
    )
)
