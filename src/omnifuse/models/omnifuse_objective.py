"""The label-dependent part of OmniFuse's objective (eq. 18): DWFuse and TLA.

``L = L_forward + lambda1 L_backward + lambda2 (L_enc + alpha L_ra) + lambda3 L_TLA``. The model
returns the imputation terms; the training module adds ``CE(o, y)`` with weight
``lambda2 * alpha`` (the model's ``task_loss_weight``); this hook adds ``lambda2 * L_enc`` and
``lambda3 * L_TLA`` and, after each epoch, mines the lazy combination (eq. 15).
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
import torch

from omnifuse.balance.base import move_batch, reduce_sum
from omnifuse.fusion.dwfuse import dwfuse_encoder_loss
from omnifuse.imputation.patterns import all_combinations
from omnifuse.models.output import ModelOutput
from omnifuse.training.losses import task_loss


class OmniFuseObjective(L.Callback):
    """Loss hook + callback adding DWFuse's weighted unimodal losses and TLA.

    ``trace()`` returns the lazy combination mined after every epoch (traceability).
    Without a ``seed`` the random generator is seeded with the trainer's seed (the training
    module's ``config.seed``) when training starts.
    """

    trace_name = "omnifuse"

    def __init__(self, seed: int | None = None) -> None:
        self.lazy: torch.Tensor | None = None  # (M,) bool, the current lazy combination
        self.history: list[dict[str, Any]] = []
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed or 0)

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # before a resumed run restores the generator state from its checkpoint
        if self.seed is None:
            self.generator.manual_seed(int(getattr(getattr(pl_module, "config", None), "seed", 0)))

    def trace(self) -> dict[str, Any]:
        """The run's TLA trace: per epoch the lazy combination and every combination's score."""
        return {"lazy_history": list(self.history)}

    # ------------------------------------------------------------------ loss hook
    def transform_batch(self, batch: dict[str, Any], module: Any) -> dict[str, Any]:
        return batch

    def loss_terms(self, output: ModelOutput, batch: dict[str, Any], module: Any) -> dict[str, torch.Tensor]:
        model = module.model
        opts = model.options
        terms: dict[str, torch.Tensor] = {}
        if opts.dwfuse and output.modality_logits:
            logits = [output.modality_logits[m] for m in model.modalities]
            counted = None if model.imputes_absent else batch["mask"]
            l_enc, _ = dwfuse_encoder_loss(logits, batch["y"], opts.beta, present=counted)
            terms["dwfuse_enc"] = opts.lambda2 * l_enc
        if opts.tla and self.lazy is not None:
            terms["tla"] = opts.lambda3 * self.tla_loss(model, output, batch)
        return terms

    def tla_loss(self, model: Any, output: ModelOutput, batch: dict[str, Any]) -> torch.Tensor:
        """Eq. 17: a share of the batch presented under the lazy combination only."""
        mask = batch["mask"]
        lazy = self.lazy.to(mask.device).unsqueeze(0)
        lazy_mask = mask & lazy
        # eq. 16: samples that have the whole lazy combination (as scored when mining)
        candidates = torch.nonzero((lazy <= mask).all(dim=1)).squeeze(1)
        n = int(round(model.options.tla_share * len(mask)))
        if len(candidates) == 0 or n == 0:
            return output.logits.sum() * 0.0
        order = torch.randperm(len(candidates), generator=self.generator)[:n]
        rows = candidates[order.to(candidates.device)]
        v = torch.stack([output.embeddings[m] for m in model.modalities], dim=1)[rows]
        absent = model.absent_embeddings(batch["inputs"])
        fused = model.fuse(v, lazy_mask[rows], absent)
        return task_loss(fused.joint_logits, batch["y"][rows], model.task)

    # ------------------------------------------------------------------ mining (eq. 15)
    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        model = pl_module.model
        if not model.options.tla or trainer.current_epoch < model.options.tla_start_epoch:
            return
        opts = model.options
        combos = self.combinations(len(model.modalities), opts.tla_exhaustive_up_to, opts.tla_samples)
        start = time.perf_counter()
        totals, counts = mine_lazy_combination(model, trainer.train_dataloader, combos,
                                               move=lambda b: move_batch(b, pl_module))
        totals, counts = reduce_sum(totals, trainer).cpu(), reduce_sum(counts, trainer).cpu()
        scores = (totals / counts).float()  # NaN where no sample has the combination
        seconds = time.perf_counter() - start
        best = int(torch.nan_to_num(scores, nan=-1.0).argmax())
        self.lazy = combos[best]
        names = [m for m, keep in zip(model.modalities, self.lazy.tolist()) if keep]
        self.history.append({
            "epoch": int(trainer.current_epoch),
            "lazy": names,
            "mining_seconds": seconds,
            "scores": {"+".join(m for m, k in zip(model.modalities, c.tolist()) if k): float(s)
                       for c, s in zip(combos, scores)},
        })

    def combinations(self, n_modalities: int, exhaustive_up_to: int, n_samples: int) -> torch.Tensor:
        """All 2^M - 1 combinations, or above ``exhaustive_up_to`` modalities every single
        modality plus ``n_samples`` random combinations."""
        if n_modalities <= exhaustive_up_to:
            return all_combinations(n_modalities)
        singles = torch.eye(n_modalities, dtype=torch.bool)
        extra = torch.rand((n_samples, n_modalities), generator=self.generator) < 0.5
        extra = extra[extra.any(dim=1)]
        return torch.unique(torch.cat([singles, extra]), dim=0)

    def state_dict(self) -> dict[str, Any]:
        return {"lazy": self.lazy, "history": self.history, "generator": self.generator.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.lazy = state_dict.get("lazy")
        self.history = list(state_dict.get("history", []))
        if "generator" in state_dict:
            self.generator.set_state(state_dict["generator"])


@torch.no_grad()
def mine_lazy_combination(model: Any, loader: Any, combos: torch.Tensor,
                          move: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed distance (``model.options.tla_distance``, cross-entropy by default) of the joint
    prediction from the label under each combination, and the number of samples scored
    (``(C,)`` each; their ratio is the mean, eq. 15).

    One pass over the data: encoders run once per batch, and all C combinations are
    evaluated together by broadcasting masks (``C * B`` rows through the fusion part). A
    combination is scored on the samples that have all of its modalities; combinations no
    sample has score NaN.
    """
    was_training = model.training
    model.eval()
    n_combos = combos.shape[0]
    first = next(model.parameters(), None)
    device = first.device if first is not None else combos.device
    combos = combos.to(device)
    totals = torch.zeros(n_combos, dtype=torch.float64, device=device)
    counts = torch.zeros(n_combos, dtype=torch.float64, device=device)
    for batch in loader:
        batch = move(batch) if move is not None else batch
        mask, y = batch["mask"], batch["y"]
        embeddings, _ = model.encode(batch["inputs"], mask)
        v = torch.stack([embeddings[m] for m in model.modalities], dim=1)
        absent = model.absent_embeddings(batch["inputs"])
        b = len(y)
        eligible = (combos.unsqueeze(1) <= mask.unsqueeze(0)).all(dim=2)  # (C, B): sample has the combo
        masks = combos.unsqueeze(1).expand(n_combos, b, -1)
        fused = model.fuse(v.repeat(n_combos, 1, 1), masks.reshape(n_combos * b, -1), absent)
        dist = distance(fused.joint_logits, y.repeat(n_combos), model.options.tla_distance).view(n_combos, b)
        totals += (dist * eligible).sum(dim=1).double()
        counts += eligible.sum(dim=1).double()
    model.train(was_training)
    return totals, counts


def distance(logits: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-sample distance between a prediction and its label (eq. 15's D)."""
    if kind == "ce":
        return task_loss(logits, y, "multiclass", reduction="none")
    probs = torch.softmax(logits, dim=-1)
    if kind == "brier":
        onehot = torch.nn.functional.one_hot(y.long(), probs.shape[-1]).to(probs.dtype)
        return ((probs - onehot) ** 2).sum(dim=-1)
    return (probs.argmax(dim=-1) != y).to(probs.dtype)
