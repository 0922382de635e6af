"""MedFuseSleep (Whitlow et al. 2025): per-modality hierarchical transformers, cross-modality attention,
summation over present modalities, and the MS + AL objectives; and MedFuseSleep-Base.

``weights`` of the output: per epoch, the cross-attention mass each modality receives from
the other present modalities' queries, averaged over those queries and normalised over the
present modalities (an epoch with one modality gives it weight 1; absent ones get 0). With
two modalities both present each query can only look at the other, so the weights are
(0.5, 0.5): they are informative from three modalities on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.models.registry import registered
from omnifuse.models.sleep.base import PAPER, SleepSequenceModel
from omnifuse.models.sleep.cross_attention import CrossModalityAttention
from omnifuse.models.sleep.encoder import HierarchicalEncoder
from omnifuse.models.sleep.options import SleepConfig


@registered
class MedFuseSleep(SleepSequenceModel):
    """MedFuseSleep: inner/outer transformers per modality, cross-modality attention, MS + AL losses."""

    name = "medfusesleep"
    paper = PAPER

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: SleepConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        arch = self.arch
        self.encoders = nn.ModuleDict({m: HierarchicalEncoder(self.n_bins(m), arch) for m in self.modalities})
        self.cross = CrossModalityAttention(len(self.modalities), arch.d_model, arch.n_heads, arch.dropout)
        self.head = self.make_head()

    def represent(
        self, inputs: Mapping[str, Any], mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        L = self.sequence_length
        z = torch.stack(
            [self.encoders[m](inputs[m], mask[:, j], L) for j, m in enumerate(self.modalities)], dim=1
        )  # (B, M, d): Z_m, the modality-specific sequence outputs
        B, M, D = z.shape
        grounded, received = self.cross(z.view(B // L, L, M, D), mask.view(B // L, L, M))
        present = mask.unsqueeze(-1).to(z.dtype)
        fused = (grounded.reshape(B, M, D) * present).sum(dim=1)  # Z_fusion = sum of present Z^(m)
        embeddings = {m: z[:, j] for j, m in enumerate(self.modalities)}
        return self.head(fused), embeddings, received_weights(received.reshape(B, M, M), mask)


def received_weights(received: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``(B, M)`` from the attention mass ``received[b, m, n]`` query m puts on modality n.

    Averaged over the present queries, restricted to present modalities, normalised to sum
    to 1; an epoch where no query attends anywhere (one modality) gets uniform weights over
    its present modalities (and all zeros when none is present).
    """
    maskf = mask.to(received.dtype)
    mass = (received * maskf.unsqueeze(-1)).sum(dim=1) * maskf  # present queries -> present modalities
    total = mass.sum(dim=1, keepdim=True)
    uniform = maskf / maskf.sum(dim=1, keepdim=True).clamp(min=1)
    return torch.where(total > 0, mass / total.clamp(min=1e-12), uniform)


@registered
class MedFuseSleepBase(MedFuseSleep):
    """MedFuseSleep-Base: the MedFuseSleep architecture trained with cross-entropy only (no MS, no AL)."""

    name = "medfusesleep-base"
    paper = f"{PAPER}, section 3.5"
    defaults = {"model": {"ms": False, "al": False}}
