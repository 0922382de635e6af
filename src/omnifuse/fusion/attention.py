"""Attention-weighted fusion of modality embeddings (tri-modal attention fusion, generalised)."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked, masked_softmax


@FUSIONS.register
class AttentionFusion(FusionOperator):
    """Additive attention over modalities: ``alpha_m = softmax_m(w^T tanh(W z_m + b))``.

    ``fused = sum_m alpha_m z_m``, the softmax running over present modalities only. This is
    the inter-modality attention weighting of Jasthi, "Multi-Modal Learning Approaches
    Combining EHR, Imaging, and Genomic Data" (eqs. for ``alpha_i`` and ``Z_attn``), with a
    learned projection ``W`` inside the tanh (additive attention).

    Args:
        attention_dim: width of ``W z_m`` (default ``dim``).

    ``output_dim = D``; ``weights = alpha`` (0 on absent, sum 1 over present; a row with
    nothing present gives zero weights and a zero vector).
    """

    name = "attention"
    search_space = {"attention_dim": {"type": "int", "low": 16, "high": 128, "log": True}}
    paper = "Jasthi, Multi-Modal Learning Approaches Combining EHR, Imaging, and Genomic Data"

    def __init__(self, n_modalities: int, dim: int, attention_dim: int | None = None) -> None:
        super().__init__(n_modalities, dim)
        width = dim if attention_dim is None else attention_dim
        if width < 1:
            raise ConfigError(f"fusion 'attention': attention_dim must be >= 1, got {attention_dim}")
        self.project = nn.Linear(dim, width)
        self.score = nn.Linear(width, 1, bias=False)
        self.output_dim = dim

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        scores = self.score(torch.tanh(self.project(zm))).squeeze(-1)  # (B, M)
        alpha = masked_softmax(scores, mask, dim=1)
        fused = (alpha.unsqueeze(-1) * zm).sum(dim=1)
        return FusionOutput(fused=fused, weights=alpha)
