"""Embedding alignment loss between the modalities a sample has (seed paper 004)."""

from __future__ import annotations

import torch

from omnifuse.balance.base import (
    STRATEGIES,
    Batch,
    Strategy,
    StrategyOutput,
    TrainingRun,
    check_nonneg,
    embeddings_of,
)
from omnifuse.errors import ConfigError
from omnifuse.tasks import TASK_NAMES


@STRATEGIES.register
class AlignmentLoss(Strategy):
    """Pulls the embeddings of a sample's present modalities together (squared L2 per pair).

    ``weight * mean_b sum_{i<j, both present in b} ||z_i(b) - z_j(b)||^2``, the mean taken over
    every sample of the batch (samples with fewer than two present modalities contribute 0).
    Seed paper 004 writes ``sum_{i != j}``, which counts each pair twice; the unordered pairs
    used here give half of it (the weight absorbs the factor). Needs ``ModelOutput.embeddings``
    of equal width for all modalities. Usable as a hook of any model or as the registered
    strategy "alignment". Labels are not read: every task kind is supported (survival too).

    Args:
        weight: multiplier of the loss (default 0.1).
    """

    name = "alignment"
    tasks = TASK_NAMES
    search_space = {"weight": {"type": "float", "low": 0.01, "high": 1.0, "log": True}}
    paper = (
        "Jasthi, Multi-modal learning approaches combining EHR, imaging, and genomic data "
        "(seed paper 004), embedding alignment loss"
    )

    def __init__(self, weight: float = 0.1) -> None:
        self.weight = check_nonneg(weight, "weight")

    def loss_terms(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> dict[str, torch.Tensor]:
        if self.weight == 0:
            return {}
        modalities = tuple(run.modalities)
        z = embeddings_of(output, modalities, self.name)
        return {"alignment": self.weight * alignment_loss(z, batch["mask"], modalities)}


def alignment_loss(
    embeddings: dict[str, torch.Tensor], mask: torch.Tensor, modalities: tuple[str, ...]
) -> torch.Tensor:
    """``mean_b sum_{i<j} mask_bi mask_bj ||z_i(b) - z_j(b)||^2`` (0 for an empty batch)."""
    widths = {m: tuple(embeddings[m].shape[1:]) for m in modalities}
    if len(set(widths.values())) > 1:
        raise ConfigError(f"alignment needs embeddings of one width for all modalities, got {widths}")
    first = embeddings[modalities[0]]
    if len(modalities) < 2 or first.shape[0] == 0:
        return first.sum() * 0.0
    z = torch.stack([embeddings[m].flatten(1) for m in modalities], dim=1)  # (B, M, D)
    present = mask.to(z.device).bool()
    # zero absent rows so that they cannot leak NaN/inf through 0 * value
    z = torch.where(present.unsqueeze(-1), z, torch.zeros((), dtype=z.dtype, device=z.device))
    diff = z.unsqueeze(2) - z.unsqueeze(1)  # (B, M, M, D)
    sq = diff.pow(2).sum(dim=-1)  # (B, M, M)
    pair = present.unsqueeze(2) & present.unsqueeze(1)
    upper = torch.ones(sq.shape[1:], dtype=torch.bool, device=z.device).triu(diagonal=1)
    per_sample = (sq * (pair & upper).to(sq.dtype)).sum(dim=(1, 2))
    return per_sample.mean()
