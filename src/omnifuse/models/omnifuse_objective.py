"""The label-dependent part of OmniFuse's objective (eq. 18): DWFuse and TLA, as a strategy.

``L = L_forward + lambda1 L_backward + lambda2 (L_enc + alpha L_ra) + lambda3 L_TLA``. The model
returns the imputation terms; :class:`OmniFuseObjective`, a strategy like the balancing ones,
weights the training module's ``CE(o, y)`` by ``lambda2 * alpha`` (eq. 14), adds
``lambda2 * L_enc`` and ``lambda3 * L_TLA`` and, after each epoch, mines the lazy combination
(eq. 15). Its settings are the model's (``config.model``, :class:`OmniFuseOptions`).

"CE" is the task's loss (:func:`omnifuse.tasks.task_loss`) and DWFuse's confidence ``p`` the
per-sample score (:func:`omnifuse.balance.base.sample_confidence`: the true-class probability
for classification), so survival heads train the same way: a logistic-hazard head with each
patient's likelihood, a Cox head with the partial likelihood, whose terms rank each event
against its risk set (taken among the samples a head is scored on).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import torch

from omnifuse.balance.base import Batch, Strategy, StrategyOutput, TrainingRun, is_cox, sample_confidence, scored_rows
from omnifuse.fusion.dwfuse import omega
from omnifuse.imputation.patterns import all_combinations
from omnifuse.tasks import SINGLE_LABEL_TASKS, task_loss


class OmniFuseObjective(Strategy):
    """DWFuse's omega-weighted unimodal losses and Traceable Laziness Activation (OmniFuse's objective).

    Works with :class:`~omnifuse.models.omnifuse.OmniFuseModel` (its ``options``, ``fuse``,
    ``encode`` and ``absent_embeddings``), whose registered entries build it. ``trace()``
    returns the lazy combination mined after every epoch (traceability).

    Args:
        seed: seed of the TLA draws (default: the run's seed, taken when training starts).
    """

    name = "omnifuse-objective"
    paper = "Wu et al., OmniFuse, Information Fusion 2025 (eqs. 12-18)"
    tasks = (*SINGLE_LABEL_TASKS, "survival")
    trace_name = "omnifuse"

    def __init__(self, seed: int | None = None) -> None:
        self.lazy: torch.Tensor | None = None  # (M,) bool, the current lazy combination
        self.history: list[dict[str, Any]] = []
        self.seed = seed
        self.generator = torch.Generator()
        self._seeded = seed is not None
        if seed is not None:
            self.generator.manual_seed(seed)

    def trace(self) -> dict[str, Any]:
        """The run's TLA trace: per epoch the lazy combination and every combination's score."""
        return {"lazy_history": list(self.history)}

    def train_start(self, run: TrainingRun) -> None:
        if not self._seeded:  # neither given nor restored from a checkpoint
            self.generator.manual_seed(int(run.seed))
            self._seeded = True

    # ------------------------------------------------------------------ loss terms
    def task_weight(self, run: TrainingRun) -> float:
        """Weight of ``CE(o, y)``: lambda2 * alpha with DWFuse (eq. 14), else 1."""
        opts = _omnifuse(run).options
        return float(opts.lambda2 * opts.alpha) if opts.dwfuse else 1.0

    def loss_terms(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> dict[str, torch.Tensor]:
        model = _omnifuse(run)
        opts = model.options
        terms: dict[str, torch.Tensor] = {}
        if opts.dwfuse and output.modality_logits:
            logits = [output.modality_logits[m] for m in model.modalities]
            counted = None if model.imputes_absent else batch["mask"]
            l_enc, _ = dwfuse_encoder_loss(logits, batch["y"], opts.beta, present=counted, task=model.task)
            terms["dwfuse_enc"] = opts.lambda2 * l_enc
        if opts.tla and self.lazy is not None:
            terms["tla"] = opts.lambda3 * self.tla_loss(model, output, batch)
        return terms

    def tla_loss(self, model: Any, output: StrategyOutput, batch: Batch) -> torch.Tensor:
        """Eq. 17: a share of the batch presented under the lazy combination only."""
        mask = batch["mask"]
        assert self.lazy is not None, "tla_loss needs a mined lazy combination"
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
    def training_epoch_done(self, run: TrainingRun) -> None:
        model = _omnifuse(run)
        if not model.options.tla or run.current_epoch < model.options.tla_start_epoch:
            return
        opts = model.options
        combos = self.combinations(len(model.modalities), opts.tla_exhaustive_up_to, opts.tla_samples)
        start = time.perf_counter()
        totals, counts = mine_lazy_combination(model, run.training_batches(), combos)
        totals, counts = run.reduce_sum(totals).cpu(), run.reduce_sum(counts).cpu()
        scores = (totals / counts).float()  # NaN where no sample has the combination
        seconds = time.perf_counter() - start
        best = int(torch.nan_to_num(scores, nan=-1.0).argmax())
        self.lazy = combos[best]
        names = [m for m, keep in zip(model.modalities, self.lazy.tolist()) if keep]
        self.history.append(
            {
                "epoch": int(run.current_epoch),
                "lazy": names,
                "mining_seconds": seconds,
                "scores": {
                    "+".join(m for m, k in zip(model.modalities, c.tolist()) if k): float(s)
                    for c, s in zip(combos, scores)
                },
            }
        )

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
            self._seeded = True


def _omnifuse(run: TrainingRun) -> Any:
    """The run's model: an :class:`~omnifuse.models.omnifuse.OmniFuseModel` (or one with its interface)."""
    return run.model


def dwfuse_encoder_loss(
    modality_logits: list[torch.Tensor],
    y: torch.Tensor,
    beta: float,
    present: torch.Tensor | None = None,
    task: str = "multiclass",
) -> tuple[torch.Tensor, torch.Tensor]:
    """``L_enc = sum_m omega^m CE(g^m(v^m), y)`` (eq. 12), averaged over the batch.

    ``CE`` is ``task``'s per-sample loss and ``p^m`` (in omega) its per-sample score, the
    true-class probability for single-label tasks. With ``present`` (``(B, M)`` bool; used when
    absent modalities are not imputed), an absent modality's head is neither trained on its
    placeholder nor counted as a confident "other" modality (its p is taken as 0); a Cox head
    is then scored on the risk sets of the samples that have its modality. The censored
    patients of a Cox head (loss 0 whatever it predicts) have p = 0 too. Returns the loss and
    the ``(B, M)`` omega used.
    """
    if present is not None and modality_logits and is_cox(modality_logits[0], task):
        columns = [_cox_terms(lg, y, present[:, j].bool(), task) for j, lg in enumerate(modality_logits)]
        p = torch.stack([c[0] for c in columns], dim=1)
        ce = torch.stack([c[1] for c in columns], dim=1)
    else:
        p = torch.stack([sample_confidence(lg, y, task) for lg in modality_logits], dim=1)
        ce = torch.stack([task_loss(lg, y, task, reduction="none") for lg in modality_logits], dim=1)
    if modality_logits and is_cox(modality_logits[0], task):
        p = p * scored_rows(modality_logits[0], y, task).to(p.dtype).unsqueeze(1)
    if present is not None:
        p = p * present.to(p.dtype)
    w = omega(p, beta)
    if present is not None:
        w = w * present.to(w.dtype)
    return (w * ce).sum(dim=1).mean(), w


def _cox_terms(
    logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor, task: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B,)`` score and loss of a Cox head over the risk sets of ``rows`` (0 elsewhere)."""
    zeros = logits.new_zeros(logits.shape[0])
    if not bool(rows.any()):
        return zeros, zeros + logits.sum() * 0.0
    score = zeros.masked_scatter(rows, sample_confidence(logits[rows].detach(), y[rows], task))
    loss = zeros.masked_scatter(rows, task_loss(logits[rows], y[rows], task, reduction="none"))
    return score, loss


@torch.no_grad()
def mine_lazy_combination(
    model: Any, batches: Iterable[Batch], combos: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed distance (``model.options.tla_distance``, cross-entropy by default) of the joint
    prediction from the label under each combination, and the number of samples scored
    (``(C,)`` each; their ratio is the mean, eq. 15).

    One pass over the data: encoders run once per batch, and all C combinations are
    evaluated together by broadcasting masks (``C * B`` rows through the fusion part). A
    combination is scored on the samples that have all of its modalities; combinations no
    sample has score NaN. "ce" is the task's loss: for a Cox head the partial likelihood of
    each combination over the risk sets of its own samples, minus that of a constant
    prediction on them (combinations that fewer samples have would otherwise look better
    only because they rank each event against fewer patients).
    """
    was_training = model.training
    model.eval()
    n_combos = combos.shape[0]
    first = next(model.parameters(), None)
    device = first.device if first is not None else combos.device
    combos = combos.to(device)
    totals = torch.zeros(n_combos, dtype=torch.float64, device=device)
    counts = torch.zeros(n_combos, dtype=torch.float64, device=device)
    for batch in batches:
        mask, y = batch["mask"], batch["y"]
        embeddings, _ = model.encode(batch["inputs"], mask)
        v = torch.stack([embeddings[m] for m in model.modalities], dim=1)
        absent = model.absent_embeddings(batch["inputs"])
        b = len(y)
        eligible = (combos.unsqueeze(1) <= mask.unsqueeze(0)).all(dim=2)  # (C, B): sample has the combo
        masks = combos.unsqueeze(1).expand(n_combos, b, -1)
        fused = model.fuse(v.repeat(n_combos, 1, 1), masks.reshape(n_combos * b, -1), absent)
        logits = fused.joint_logits
        if is_cox(logits, model.task):
            dist = torch.stack(
                [_excess_cox_loss(lg, y, rows, model.task) for lg, rows in zip(logits.view(n_combos, b, -1), eligible)]
            )
        else:
            repeated = y.repeat(n_combos, *([1] * (y.dim() - 1)))
            dist = distance(logits, repeated, model.options.tla_distance, model.task).view(n_combos, b)
        totals += (dist * eligible).sum(dim=1).double()
        counts += eligible.sum(dim=1).double()
    model.train(was_training)
    return totals, counts


def _excess_cox_loss(logits: torch.Tensor, y: torch.Tensor, rows: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` Cox terms over the risk sets of ``rows`` minus those of a constant prediction (0 elsewhere)."""
    out = logits.new_zeros(logits.shape[0])
    if not bool(rows.any()):
        return out
    lg, target = logits[rows], y[rows]
    excess = task_loss(lg, target, task, reduction="none") - task_loss(
        torch.zeros_like(lg), target, task, reduction="none"
    )
    return out.masked_scatter(rows, excess)


def distance(logits: torch.Tensor, y: torch.Tensor, kind: str, task: str = "multiclass") -> torch.Tensor:
    """Per-sample distance between a prediction and its label (eq. 15's D): the task loss
    ("ce"), or for classes the Brier score or 0/1 error of the probabilities."""
    if kind == "ce":
        return task_loss(logits, y, task, reduction="none")
    probs = torch.softmax(logits, dim=-1)
    if kind == "brier":
        onehot = torch.nn.functional.one_hot(y.long(), probs.shape[-1]).to(probs.dtype)
        return ((probs - onehot) ** 2).sum(dim=-1)
    return (probs.argmax(dim=-1) != y).to(probs.dtype)
