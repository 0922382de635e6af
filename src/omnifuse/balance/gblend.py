"""Gradient-Blending (G-Blend): loss weights from each head's overfitting-to-generalisation ratio."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from omnifuse.balance.base import (
    STRATEGIES,
    Batch,
    Strategy,
    StrategyOutput,
    TrainingRun,
    check_nonneg,
    check_unit,
    modality_logits_of,
)
from omnifuse.tasks import TASK_NAMES, task_loss

JOINT = "joint"


@STRATEGIES.register
class GBlend(Strategy):
    """Blends the joint and unimodal head losses with weights w ∝ ΔG / ΔO² (online G-Blend).

    Heads are the joint head (``ModelOutput.logits``, named "joint") and each modality's
    unimodal head (``ModelOutput.modality_logits``, losses over the samples that have the
    modality). During each epoch the training loss of every head is accumulated from the
    training batches and its validation loss from the model's outputs on the validation batches.
    Every ``every`` epochs the weights are re-estimated against the previous estimate:
    ``ΔG = V_prev - V_now`` (generalisation gained), ``ΔO = (V_now - T_now) - (V_prev - T_prev)``
    (overfitting gained), ``w_h ∝ max(ΔG_h, 0) / (ΔO_h² + eps)``, normalised to sum 1, then
    smoothed with the previous weights (``smoothing``) and mixed with the uniform weights
    (``floor``: every head keeps at least ``floor / n_heads``). Until the first estimate (and
    whenever no head generalised better) the weights stay as they were, uniform at the start.

    The training objective becomes ``sum_h w_h * loss_h``: the module already adds the joint
    task loss once, so the term returned is ``sum_m w_m * loss_m + (w_joint - 1) * loss_joint``.
    (``unimodal_weight > 0`` in the config would add the module's own unimodal term on top.)

    Every task kind: the losses are the task's (:func:`omnifuse.tasks.task_loss`). For a Cox
    survival head a unimodal head's loss is the partial likelihood over the present samples'
    risk sets; its level depends on the risk sets' size (about ``log`` of it for a head that
    knows nothing), but that offset is the same from one epoch to the next for a head and a
    split, so it cancels in ``ΔG`` and ``ΔO``, which only compare a head with itself.

    Args:
        every: epochs between two estimates (default 1).
        floor: share of the weight mass spread uniformly over the heads, in [0, 1] (default 0.1).
        smoothing: weight of the previous weights when updating, in [0, 1) (default 0.5).
        eps: added to ΔO² so a vanishing overfitting change cannot give an infinite weight.
    """

    name = "g-blend"
    search_space = {
        "floor": {"type": "float", "low": 0.0, "high": 0.5},
        "smoothing": {"type": "float", "low": 0.0, "high": 0.9},
    }
    defaults = {"unimodal_heads": True}
    tasks = TASK_NAMES
    paper = (
        "Wang, Tran, Feiszli. What makes training multi-modal classification networks hard? "
        "CVPR 2020 (Gradient-Blending)"
    )

    def __init__(self, every: int = 1, floor: float = 0.1, smoothing: float = 0.5, eps: float = 1e-4) -> None:
        self.every = int(every)
        if self.every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.floor = check_unit(floor, "floor", high_open=False)
        self.smoothing = check_unit(smoothing, "smoothing")
        self.eps = check_nonneg(eps, "eps")
        self.weights: dict[str, float] = {}
        self.weights_history: list[dict[str, float]] = []
        self.loss_history: list[dict[str, dict[str, float]]] = []
        self._snapshot: dict[str, dict[str, float]] | None = None
        self._train: dict[str, list[float]] = {}
        self._val: dict[str, list[float]] = {}

    # ------------------------------------------------------------------ heads and weights
    @staticmethod
    def heads(modalities: tuple[str, ...]) -> tuple[str, ...]:
        return (JOINT, *modalities)

    def current_weights(self, modalities: tuple[str, ...]) -> dict[str, float]:
        """The weights in use (uniform before the first estimate)."""
        heads = self.heads(modalities)
        if set(self.weights) != set(heads):
            self.weights = {h: 1.0 / len(heads) for h in heads}
        return dict(self.weights)

    @staticmethod
    def raw_weights(
        train_prev: Mapping[str, float],
        val_prev: Mapping[str, float],
        train_now: Mapping[str, float],
        val_now: Mapping[str, float],
        eps: float = 1e-4,
    ) -> dict[str, float] | None:
        """``w_h ∝ max(ΔG_h, 0) / (ΔO_h² + eps)`` normalised to sum 1 over the heads given.

        Heads with a missing or non-finite loss get weight 0; None when no head has ΔG > 0.
        """
        scores: dict[str, float] = {}
        for h in val_now:
            tp, vp, tn, vn = (train_prev.get(h), val_prev.get(h), train_now.get(h), val_now.get(h))
            if (
                tp is None
                or vp is None
                or tn is None
                or vn is None
                or not all(math.isfinite(v) for v in (tp, vp, tn, vn))
            ):
                scores[h] = 0.0
                continue
            d_g = vp - vn
            d_o = (vn - tn) - (vp - tp)
            denominator = d_o * d_o + eps
            if d_g <= 0:
                scores[h] = 0.0
            else:
                scores[h] = d_g / denominator if denominator > 0 else math.inf
        if any(math.isinf(s) for s in scores.values()):  # dO = 0 with eps = 0: those heads share it all
            scores = {h: (1.0 if math.isinf(s) else 0.0) for h, s in scores.items()}
        total = sum(scores.values())
        if not total > 0 or not math.isfinite(total):
            return None
        return {h: s / total for h, s in scores.items()}

    def blend(self, previous: Mapping[str, float], raw: Mapping[str, float] | None) -> dict[str, float]:
        """Smoothing with ``previous`` and mixing with uniform (``floor``); sums to 1."""
        heads = list(previous)
        n = len(heads)
        target = previous if raw is None else raw
        mixed = {h: self.smoothing * previous[h] + (1.0 - self.smoothing) * target.get(h, 0.0) for h in heads}
        total = sum(mixed.values()) or 1.0
        return {h: (1.0 - self.floor) * mixed[h] / total + self.floor / n for h in heads}

    # ------------------------------------------------------------------ per-head losses
    @staticmethod
    def head_losses(
        output: StrategyOutput,
        y: torch.Tensor,
        mask: torch.Tensor,
        modalities: tuple[str, ...],
        task: str,
        strategy: str = "g-blend",
    ) -> dict[str, tuple[torch.Tensor, int]]:
        """``{head: (sum of per-sample losses, n samples)}``; unimodal heads over present samples."""
        out = {JOINT: (task_loss(output.logits, y, task, reduction="none").sum(), int(y.shape[0]))}
        logits = modality_logits_of(output, modalities, strategy)
        for j, m in enumerate(modalities):
            present = mask[:, j].bool()
            n = int(present.sum())
            if n:
                out[m] = (task_loss(logits[m][present], y[present], task, reduction="none").sum(), n)
            else:
                out[m] = (logits[m].sum() * 0.0, 0)
        return out

    def loss_terms(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> dict[str, torch.Tensor]:
        modalities = tuple(run.modalities)
        losses = self.head_losses(output, batch["y"], batch["mask"], modalities, run.task, self.name)
        _accumulate(self._train, losses)
        w = self.current_weights(modalities)
        joint_sum, joint_n = losses[JOINT]
        term = (w[JOINT] - 1.0) * joint_sum / max(joint_n, 1)
        for m in modalities:
            total, n = losses[m]
            if n:
                term = term + w[m] * total / n
        return {"gblend": term}

    # ------------------------------------------------------------------ epoch hooks
    def training_epoch_start(self, run: TrainingRun) -> None:
        self._train = {}

    def validation_epoch_start(self, run: TrainingRun) -> None:
        self._val = {}

    def validation_batch(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        modalities = tuple(run.modalities)
        with torch.no_grad():
            losses = self.head_losses(output, batch["y"], batch["mask"], modalities, run.task, self.name)
        _accumulate(self._val, losses)

    def validation_epoch_done(self, run: TrainingRun) -> None:
        if not self._val or not self._train:
            return
        modalities = tuple(run.modalities)
        previous = self.current_weights(modalities)
        heads = self.heads(modalities)
        reduce, device = run.reduce_sum, run.device
        now = {"train": _means(self._train, heads, reduce, device), "val": _means(self._val, heads, reduce, device)}
        self.loss_history.append(now)
        epoch = run.current_epoch
        if (epoch + 1) % self.every == 0:
            if self._snapshot is not None:
                prev = self._snapshot
                raw = self.raw_weights(prev["train"], prev["val"], now["train"], now["val"], self.eps)
                self.weights = self.blend(previous, raw)
            self._snapshot = now
        self.weights_history.append(dict(self.weights))
        for h, w in self.weights.items():
            run.log(f"gblend_w/{h}", w, on_step=False, on_epoch=True)

    def state_dict(self) -> dict[str, Any]:
        return {
            "weights": dict(self.weights),
            "weights_history": list(self.weights_history),
            "loss_history": list(self.loss_history),
            "snapshot": self._snapshot,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.weights = dict(state_dict.get("weights", {}))
        self.weights_history = list(state_dict.get("weights_history", []))
        self.loss_history = list(state_dict.get("loss_history", []))
        self._snapshot = state_dict.get("snapshot")


def _accumulate(store: dict[str, list[float]], losses: Mapping[str, tuple[torch.Tensor, int]]) -> None:
    for h, (total, n) in losses.items():
        acc = store.setdefault(h, [0.0, 0])
        acc[0] += float(total.detach())
        acc[1] += n


def _means(
    store: Mapping[str, list[float]],
    heads: tuple[str, ...],
    reduce_sum: Callable[[torch.Tensor], torch.Tensor],
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Mean loss per head (summed over the processes of a distributed run; NaN without samples)."""
    parts = torch.tensor(
        [[store.get(h, [0.0, 0])[0] for h in heads], [store.get(h, [0.0, 0])[1] for h in heads]],
        dtype=torch.float64,
        device=device,
    )
    parts = reduce_sum(parts)
    return {
        h: (float(parts[0, i]) / float(parts[1, i]) if float(parts[1, i]) > 0 else float("nan"))
        for i, h in enumerate(heads)
    }
