"""PMR: Prototypical Modal Rebalance (Fan et al., CVPR 2023), generalised to M modalities."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
import torch.nn.functional as F

from omnifuse.balance.base import (
    STRATEGIES,
    Batch,
    Strategy,
    StrategyOutput,
    TrainingRun,
    check_nonneg,
    check_unit,
    embeddings_of,
    ratio_to_others,
)
from omnifuse.tasks import SINGLE_LABEL_TASKS


@STRATEGIES.register
class PMR(Strategy):
    """Accelerates slow-learning modalities with prototype losses; regularises dominant ones early.

    Each modality ``m`` keeps one prototype per class ``c_k^m``: the mean embedding
    (``ModelOutput.embeddings[m]``) of the training samples of class ``k`` that have ``m``.
    They are computed once before training from a pass over the training batches, then after
    every epoch's last training batch from the embeddings stored during that epoch, with
    momentum: ``c <- (1 - momentum) * mean_epoch + momentum * c`` (classes without samples keep
    theirs). A prototype classifier gives ``p^m(k | x) = softmax_k(-||z^m(x) - c_k^m||^2)``.

    Per training batch, over the samples that have each modality:

    * ``s_m`` = mean prototype probability of the true class, ``rho_m = s_m / mean_{n != m} s_n``;
    * prototypical cross-entropy ``PCE_m = -mean log p^m(y | x)``, weighted by
      ``beta_m = alpha * max(1 / rho_m - 1, 0)``: only modalities weaker than the others are
      boosted (with M = 2, ``beta`` of the weaker modality is ``alpha * (rho_dominant - 1)``);
    * for epochs ``< entropy_epochs``, the entropy ``H_m`` of ``p^m`` of dominant modalities is
      maximised: ``-mu * gamma_m * H_m`` with ``gamma_m = max(rho_m - 1, 0)``.

    Returned terms: ``pmr_pce`` and ``pmr_entropy``. Binary, multiclass and survival tasks.

    Survival has no classes; the prototypes are those of the two outcome groups at a horizon
    ``tau``, the mean event time of the training samples (taken in the pass that sets the
    first prototypes, kept in the checkpoint): patients with the event by ``tau`` (group 1)
    and patients known to be event-free at ``tau`` (event or censoring after it, group 0).
    Patients censored before ``tau`` have an unknown status and are left out of prototypes,
    scores and losses. This is the status a time-dependent AUC at ``tau`` scores, so a
    modality whose embeddings separate it is one that carries survival signal; the rest of
    the method (prototype classifier, ``rho``, ``beta``, ``gamma``) is unchanged, with the
    groups as classes. It reads no head, so a Cox and a logistic-hazard head are the same here.

    Args:
        alpha: weight of the prototypical cross-entropy (default 1.0).
        mu: weight of the entropy regulariser (default 0.01).
        momentum: share of the previous prototypes kept at each update, in [0, 1) (default 0.2).
        entropy_epochs: epochs during which the entropy regulariser is applied (default 10).
    """

    name = "pmr"
    search_space = {
        "alpha": {"type": "float", "low": 0.1, "high": 5.0, "log": True},
        "mu": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
    }
    paper = "Fan, Xu, Wang, Wang, Guo. PMR: Prototypical modal rebalance for multimodal learning. CVPR 2023"
    tasks = (*SINGLE_LABEL_TASKS, "survival")

    def __init__(self, alpha: float = 1.0, mu: float = 0.01, momentum: float = 0.2, entropy_epochs: int = 10) -> None:
        self.alpha = check_nonneg(alpha, "alpha")
        self.mu = check_nonneg(mu, "mu")
        self.momentum = check_unit(momentum, "momentum")
        self.entropy_epochs = int(entropy_epochs)
        if self.entropy_epochs < 0:
            raise ValueError(f"entropy_epochs must be >= 0, got {entropy_epochs}")
        self.prototypes: dict[str, torch.Tensor] = {}
        self.horizon: float | None = None  # survival: the time the outcome groups are cut at
        self.coefficient_history: list[dict[str, dict[str, float]]] = []
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, torch.Tensor] = {}
        self._beta: dict[str, float] = {}
        self._gamma: dict[str, float] = {}
        self._steps = 0

    # ------------------------------------------------------------------ groups
    def targets(self, y: torch.Tensor, task: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(group, known)`` per sample: the class (every sample known) or, for survival, 1 for
        an event by :attr:`horizon`, 0 for a time after it; censored before it: unknown."""
        if task != "survival":
            return y.long(), torch.ones(y.shape[0], dtype=torch.bool, device=y.device)
        if self.horizon is None:
            raise RuntimeError("pmr: the survival horizon is set when training starts")
        time, event = y[:, 0], y[:, 1] > 0
        early = event & (time <= self.horizon)
        return early.long(), early | (time > self.horizon)

    @staticmethod
    def n_groups(run: TrainingRun) -> int:
        """Number of prototypes per modality: the classes, or the two survival outcome groups."""
        return 2 if run.task == "survival" else int(run.n_classes)

    def set_horizon(self, ys: list[torch.Tensor], reduce_sum: Callable[[torch.Tensor], torch.Tensor]) -> None:
        """:attr:`horizon` = mean event time of the training targets ``ys`` (time, event, ...),
        over every process of a distributed run (+inf without an event: every status unknown)."""
        parts = torch.zeros(2, dtype=torch.float64, device=ys[0].device if ys else "cpu")
        for y in ys:
            event = y[:, 1] > 0
            parts[0] += y[:, 0][event].double().sum()
            parts[1] += float(event.sum())
        parts = reduce_sum(parts)
        self.horizon = float(parts[0] / parts[1]) if float(parts[1]) > 0 else float("inf")

    # ------------------------------------------------------------------ prototypes
    def reset_accumulators(self) -> None:
        self._sums, self._counts = {}, {}

    def accumulate(
        self,
        embeddings: Mapping[str, torch.Tensor],
        y: torch.Tensor,
        mask: torch.Tensor,
        modalities: tuple[str, ...],
        n_classes: int,
        known: torch.Tensor | None = None,
    ) -> None:
        """Add the (detached) embeddings of present samples to the per-class sums (only the
        samples flagged ``known``, when given)."""
        y = y.long()
        for j, m in enumerate(modalities):
            present = mask[:, j].bool()
            if known is not None:
                present = present & known.to(present.device)
            z = embeddings[m].detach().flatten(1)
            if m not in self._sums:
                self._sums[m] = torch.zeros(n_classes, z.shape[1], dtype=torch.float64, device=z.device)
                self._counts[m] = torch.zeros(n_classes, dtype=torch.float64, device=z.device)
            if bool(present.any()):
                self._sums[m].index_add_(0, y[present].to(z.device), z[present].double())
                self._counts[m].index_add_(
                    0, y[present].to(z.device), torch.ones(int(present.sum()), dtype=torch.float64, device=z.device)
                )

    def update_prototypes(self, reduce_sum: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        """Class means of the accumulated embeddings, blended with the previous prototypes.

        In a distributed run ``reduce_sum`` (the run's) adds the sums and counts of every
        process first, so every process holds the same prototypes.
        """
        for m in sorted(self._sums):
            sums, counts = self._sums[m], self._counts[m]
            if reduce_sum is not None:
                sums, counts = reduce_sum(sums), reduce_sum(counts)
            seen = counts > 0
            means = (sums / counts.clamp(min=1).unsqueeze(1)).float()
            old = self.prototypes.get(m)
            if old is None:
                new = torch.where(seen.unsqueeze(1), means, torch.full_like(means, float("nan")))
            else:
                old = old.to(means.device)
                blended = torch.where(torch.isfinite(old), (1.0 - self.momentum) * means + self.momentum * old, means)
                new = torch.where(seen.unsqueeze(1), blended, old)
            self.prototypes[m] = new
        self.reset_accumulators()

    @staticmethod
    def prototype_logits(z: torch.Tensor, prototypes: torch.Tensor) -> torch.Tensor:
        """``-||z - c_k||^2`` for every class ``k`` (classes without a prototype get -inf)."""
        z = z.flatten(1)
        known = torch.isfinite(prototypes).all(dim=1)
        protos = torch.nan_to_num(prototypes.to(z.dtype), nan=0.0)
        d2 = (z.unsqueeze(1) - protos.unsqueeze(0)).pow(2).sum(dim=-1)
        return (-d2).masked_fill(~known.unsqueeze(0), float("-inf"))

    # ------------------------------------------------------------------ loss
    def coefficients(self, scores: Mapping[str, float | None]) -> tuple[dict[str, float], dict[str, float]]:
        """``(beta_m, gamma_m)`` from the prototype scores ``s_m``.

        Degenerate ratios: a modality scoring 0 while others score more (``rho = 0``) gets
        ``beta = alpha`` (the official code's all-or-nothing boost); one scoring more than 0 while
        all others score 0 (``rho = inf``) gets ``gamma = 1``; unscored modalities get 0 and 0.
        """
        rho = ratio_to_others(scores)
        beta: dict[str, float] = {}
        gamma: dict[str, float] = {}
        for m, r in rho.items():
            if r is None:
                beta[m], gamma[m] = 0.0, 0.0
            elif r <= 0:
                beta[m], gamma[m] = self.alpha, 0.0
            elif math.isinf(r):
                beta[m], gamma[m] = 0.0, 1.0
            else:
                beta[m], gamma[m] = self.alpha * max(1.0 / r - 1.0, 0.0), max(r - 1.0, 0.0)
        return beta, gamma

    def loss_terms(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> dict[str, torch.Tensor]:
        modalities = tuple(run.modalities)
        z = embeddings_of(output, modalities, self.name)
        y, known = self.targets(batch["y"], run.task)
        mask = batch["mask"].bool() & known.to(batch["mask"].device).unsqueeze(1)
        pce: dict[str, torch.Tensor] = {}
        entropy: dict[str, torch.Tensor] = {}
        scores: dict[str, float | None] = {}
        for j, m in enumerate(modalities):
            present = mask[:, j]
            proto = self.prototypes.get(m)
            if proto is None or not bool(present.any()):
                scores[m] = None
                continue
            logits = self.prototype_logits(z[m][present], proto.to(z[m].device))
            target = y[present].to(logits.device)
            known = torch.isfinite(logits.gather(1, target.view(-1, 1))).squeeze(1)
            if not bool(known.any()):
                scores[m] = None
                continue
            logits, target = logits[known], target[known]
            logp = torch.log_softmax(logits, dim=-1)
            pce[m] = F.nll_loss(logp, target)
            p = logp.exp()
            entropy[m] = -(p * logp.masked_fill(p == 0, 0.0)).sum(dim=-1).mean()
            scores[m] = float(p.detach().gather(1, target.view(-1, 1)).mean())
        beta, gamma = self.coefficients(scores)
        zero = output.logits.sum() * 0.0
        pce_term = sum((beta[m] * pce[m] for m in pce if beta[m] > 0), zero)
        terms = {"pmr_pce": pce_term}
        if int(run.current_epoch) < self.entropy_epochs and self.mu > 0:
            terms["pmr_entropy"] = sum((-self.mu * gamma[m] * entropy[m] for m in entropy if gamma[m] > 0), zero)
        self._steps += 1
        for m in modalities:
            self._beta[m] = self._beta.get(m, 0.0) + beta.get(m, 0.0)
            self._gamma[m] = self._gamma.get(m, 0.0) + gamma.get(m, 0.0)
        return terms

    # ------------------------------------------------------------------ run and epoch hooks
    def train_start(self, run: TrainingRun) -> None:
        """Initial prototypes from one pass of the (untrained) model over the training batches."""
        if self.prototypes:
            return
        modalities = tuple(run.modalities)
        model = run.model
        was_training = model.training
        model.eval()
        self.reset_accumulators()
        seen: list[tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]] = []
        try:
            with torch.no_grad():
                for batch in run.training_batches():
                    output = model(batch["inputs"], batch["mask"])
                    seen.append((embeddings_of(output, modalities, self.name), batch["y"], batch["mask"]))
        finally:
            model.train(was_training)
        if run.task == "survival" and self.horizon is None:
            self.set_horizon([y for _, y, _ in seen], run.reduce_sum)
        for z, y, mask in seen:
            self._accumulate_batch(z, y, mask, run)
        self.update_prototypes(run.reduce_sum)

    def _accumulate_batch(
        self, z: Mapping[str, torch.Tensor], y: torch.Tensor, mask: torch.Tensor, run: TrainingRun
    ) -> None:
        groups, known = self.targets(y, run.task)
        self.accumulate(z, groups, mask, tuple(run.modalities), self.n_groups(run), known)

    def training_epoch_start(self, run: TrainingRun) -> None:
        self.reset_accumulators()
        self._beta, self._gamma, self._steps = {}, {}, 0

    def after_batch(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        modalities = tuple(run.modalities)
        self._accumulate_batch(embeddings_of(output, modalities, self.name), batch["y"], batch["mask"], run)

    def training_epoch_done(self, run: TrainingRun) -> None:
        self.update_prototypes(run.reduce_sum)
        if self._steps:
            self.coefficient_history.append(
                {
                    "beta": {m: v / self._steps for m, v in self._beta.items()},
                    "gamma": {m: v / self._steps for m, v in self._gamma.items()},
                }
            )

    def state_dict(self) -> dict[str, Any]:
        return {
            "prototypes": {m: p.cpu() for m, p in self.prototypes.items()},
            "coefficient_history": list(self.coefficient_history),
            "horizon": self.horizon,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.prototypes = dict(state_dict.get("prototypes", {}))
        self.coefficient_history = list(state_dict.get("coefficient_history", []))
        self.horizon = state_dict.get("horizon")
