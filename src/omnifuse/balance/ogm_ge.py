"""OGM-GE: on-the-fly gradient modulation with generalisation enhancement (Peng et al., 2022)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from omnifuse.balance.base import (
    STRATEGIES,
    Batch,
    Strategy,
    StrategyOutput,
    TrainingRun,
    check_nonneg,
    modality_logits_of,
    ratio_to_others,
    relative_confidence,
    scored_rows,
)
from omnifuse.errors import ConfigError
from omnifuse.tasks import SINGLE_LABEL_TASKS


@STRATEGIES.register
class OGMGE(Strategy):
    """Slows down the encoders of dominant modalities by scaling their gradients each step.

    After every backward pass, with ``s_m`` the softmax probability of the true class under
    modality ``m``'s unimodal head (averaged, or summed, over the samples that have ``m``;
    for survival the analogue of :func:`~omnifuse.balance.base.relative_confidence`: the
    likelihood of each patient's outcome under a logistic-hazard head, and under a Cox head,
    over the events, the risk-set softmax probability of the patient who failed relative to a
    constant prediction, Cox risk sets taken among the samples that have ``m``),
    the discrepancy ratio ``rho_m = s_m / mean_{n != m} s_n`` (M >= 2 modalities; the paper's
    two-modality ratio when M = 2) gives ``k_m = 1 - tanh(alpha * relu(rho_m - 1))`` for a
    dominant modality (``rho_m > 1``) and ``k_m = 1`` otherwise. For epochs
    ``modulation_starts <= epoch < modulation_ends`` every gradient of the parameters of
    ``model.encoders[m]`` (selected by module, never by name) becomes
    ``grad * k_m + N(0, std(grad))`` (the Gaussian noise is the GE part; ``ge: false`` gives
    plain OGM). Needs unimodal heads (``ModelOutput.modality_logits``) that are trained (the
    registered "ogm-ge" sets ``unimodal_heads: true, unimodal_weight: 1.0``) and ``model.encoders``.
    In a distributed run the scores are summed over processes and the GE noise is drawn from a
    generator seeded per step, so every process modulates identically.

    Args:
        alpha: modulation strength (default 0.1).
        modulation_starts: first modulated epoch (default 0).
        modulation_ends: first epoch no longer modulated (default 50).
        ge: add the Gaussian enhancement (default true).
        reduction: "mean" (default) or "sum" of the true-class probabilities over present
            samples; the paper sums over the batch, which equals the mean when every sample has
            every modality, while the mean stays fair when modalities are missing at different rates.
    """

    name = "ogm-ge"
    search_space = {"alpha": {"type": "float", "low": 0.05, "high": 1.0, "log": True}}
    paper = "Peng, Wei, Deng, Wang, Hu. Balanced multimodal learning via on-the-fly gradient modulation. CVPR 2022"
    tasks = (*SINGLE_LABEL_TASKS, "survival")
    #: the unimodal heads must learn for their scores to mean anything: the registered model
    #: trains them with the module's unimodal loss (the paper's heads are slices of the joint
    #: linear classifier, trained by the joint loss; a FusionModel's joint head is an MLP)
    defaults = {"unimodal_heads": True, "unimodal_weight": 1.0}

    def __init__(
        self,
        alpha: float = 0.1,
        modulation_starts: int = 0,
        modulation_ends: int = 50,
        ge: bool = True,
        reduction: str = "mean",
    ) -> None:
        self.alpha = check_nonneg(alpha, "alpha")
        self.modulation_starts = int(modulation_starts)
        self.modulation_ends = int(modulation_ends)
        if self.modulation_ends < self.modulation_starts:
            raise ValueError(f"modulation_ends ({modulation_ends}) must be >= modulation_starts ({modulation_starts})")
        self.ge = bool(ge)
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
        self.reduction = reduction
        self.coefficients_history: list[dict[str, float]] = []
        self.ratio_history: list[dict[str, float]] = []
        self.last_coefficients: dict[str, float] = {}
        self._sum_k: dict[str, float] = {}
        self._sum_rho: dict[str, float] = {}
        self._n_rho: dict[str, int] = {}
        self._steps = 0

    # ------------------------------------------------------------------ formulas
    def score_parts(
        self,
        modality_logits: Mapping[str, torch.Tensor],
        y: torch.Tensor,
        mask: torch.Tensor,
        modalities: tuple[str, ...],
        task: str = "multiclass",
    ) -> torch.Tensor:
        """``(2, M)``: per modality, the sum of the scores (true-class probabilities for
        single-label tasks) over the present samples that are scored and their count
        (summable over the processes of a distributed run)."""
        parts = torch.zeros(2, len(modalities), dtype=torch.float64, device=y.device)
        for j, m in enumerate(modalities):
            present = mask[:, j].bool()
            if bool(present.any()):
                logits, target = modality_logits[m][present].detach().float(), y[present]
                rows = scored_rows(logits, target, task)
                if bool(rows.any()):
                    picked = relative_confidence(logits, target, task)[rows]
                    parts[0, j] = picked.sum().to(parts.device, torch.float64)
                    parts[1, j] = float(rows.sum())
        return parts

    def scores_from_parts(self, parts: torch.Tensor, modalities: tuple[str, ...]) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for j, m in enumerate(modalities):
            total, n = float(parts[0, j]), float(parts[1, j])
            out[m] = None if n == 0 else (total if self.reduction == "sum" else total / n)
        return out

    def scores(
        self,
        modality_logits: Mapping[str, torch.Tensor],
        y: torch.Tensor,
        mask: torch.Tensor,
        modalities: tuple[str, ...],
        task: str = "multiclass",
    ) -> dict[str, float | None]:
        """``s_m`` per modality (None where no sample of the batch has it, or none is scored)."""
        return self.scores_from_parts(self.score_parts(modality_logits, y, mask, modalities, task), modalities)

    def coefficients_from_scores(
        self, scores: Mapping[str, float | None]
    ) -> tuple[dict[str, float], dict[str, float | None]]:
        """``(k_m, rho_m)`` per modality from the scores."""
        rho = ratio_to_others(scores)
        k: dict[str, float] = {}
        for m, r in rho.items():
            if r is None:  # modality absent from the batch, or nothing to compare with
                k[m] = 1.0
            elif math.isinf(r):  # the others score 0: tanh(inf) = 1
                k[m] = 0.0 if self.alpha > 0 else 1.0
            else:
                k[m] = 1.0 - math.tanh(self.alpha * max(r - 1.0, 0.0))
        return k, rho

    def coefficients(
        self,
        modality_logits: Mapping[str, torch.Tensor],
        y: torch.Tensor,
        mask: torch.Tensor,
        modalities: tuple[str, ...],
        task: str = "multiclass",
    ) -> dict[str, float]:
        """``k_m`` for one batch."""
        return self.coefficients_from_scores(self.scores(modality_logits, y, mask, modalities, task))[0]

    def in_window(self, epoch: int) -> bool:
        return self.modulation_starts <= epoch < self.modulation_ends

    # ------------------------------------------------------------------ gradients
    def modulate(
        self,
        encoders: nn.ModuleDict | Mapping[str, nn.Module],
        coefficients: Mapping[str, float],
        generator_seed: int | None = None,
    ) -> None:
        """Scale (and, with GE, perturb) the gradients of each encoder's parameters in place.

        Parameters are collected from each encoder *module*; a parameter shared by several
        encoders is modulated once, with the first of them (in modality order). With
        ``generator_seed`` the noise comes from a generator seeded with it (the same noise in
        every process of a distributed run), otherwise from torch's global generator.
        """
        seen: set[int] = set()
        generators: dict[torch.device, torch.Generator] = {}
        for m, k in coefficients.items():
            if m not in encoders:
                continue
            for param in encoders[m].parameters():
                if id(param) in seen or param.grad is None:
                    continue
                seen.add(id(param))
                grad = param.grad
                std = float(grad.detach().float().std()) if self.ge and grad.numel() > 1 else 0.0
                grad.mul_(k)  # in place: the gradient tensor the optimiser holds stays the same object
                if math.isfinite(std) and std > 0:
                    gen = None
                    if generator_seed is not None:
                        gen = generators.get(grad.device)
                        if gen is None:
                            gen = torch.Generator(device=grad.device)
                            gen.manual_seed(generator_seed)
                            generators[grad.device] = gen
                    grad.add_(torch.randn(grad.shape, generator=gen, device=grad.device, dtype=grad.dtype), alpha=std)

    def after_backward(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        modalities = tuple(run.modalities)
        logits = modality_logits_of(output, modalities, self.name)
        # scores summed over processes, so that every process applies the same coefficients
        parts = run.reduce_sum(self.score_parts(logits, batch["y"], batch["mask"], modalities, run.task))
        k, rho = self.coefficients_from_scores(self.scores_from_parts(parts, modalities))
        modulating = self.in_window(run.current_epoch)
        applied = k if modulating else {m: 1.0 for m in k}
        if modulating:
            encoders = getattr(run.model, "encoders", None)
            if not isinstance(encoders, (nn.ModuleDict, Mapping)):
                raise ConfigError(f"strategy '{self.name}' needs a model with an 'encoders' module dict")
            seed = None
            if run.world_size > 1:
                seed = (int(run.seed) * 1_000_003 + int(run.global_step) * 7919 + 17) % (2**63 - 1)
            self.modulate(encoders, applied, generator_seed=seed)
        self.last_coefficients = dict(applied)
        self._steps += 1
        for m in modalities:
            self._sum_k[m] = self._sum_k.get(m, 0.0) + applied[m]
            r = rho[m]
            if r is not None and math.isfinite(r):
                self._sum_rho[m] = self._sum_rho.get(m, 0.0) + float(r)
                self._n_rho[m] = self._n_rho.get(m, 0) + 1

    def training_epoch_start(self, run: TrainingRun) -> None:
        self._sum_k, self._sum_rho, self._n_rho, self._steps = {}, {}, {}, 0

    def training_epoch_done(self, run: TrainingRun) -> None:
        if self._steps == 0:
            return
        self.coefficients_history.append({m: v / self._steps for m, v in self._sum_k.items()})
        self.ratio_history.append({m: v / self._n_rho[m] for m, v in self._sum_rho.items()})

    def state_dict(self) -> dict[str, Any]:
        return {"coefficients_history": list(self.coefficients_history), "ratio_history": list(self.ratio_history)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.coefficients_history = list(state_dict.get("coefficients_history", []))
        self.ratio_history = list(state_dict.get("ratio_history", []))
