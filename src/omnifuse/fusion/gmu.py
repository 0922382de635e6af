"""Gated Multimodal Unit (Arevalo et al., ICLR workshop 2017) generalised to M modalities."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked, masked_softmax


@FUSIONS.register
class GatedFusion(FusionOperator):
    """Gated multimodal unit (GMU, Arevalo et al. 2017, eqs. 1-5) for any M.

    ``h_m = tanh(W_m z_m)``; per hidden unit, gate logits ``W_g [z_1; ...; z_M]`` (absent
    embeddings zeroed) go through a softmax over the present modalities, and
    ``fused = sum_m g_m * h_m``. For M = 2 this is the paper's ``z h_v + (1 - z) h_t``
    (a two-way softmax is a sigmoid of the logit difference).

    Args:
        hidden_dim: width of ``h_m`` and of the output (default ``dim``).

    ``weights`` are the gates averaged over hidden units: 0 on absent modalities, summing to 1
    over the present ones. A row with nothing present gives zeros.
    """

    name = "gmu"
    search_space = {"hidden_dim": {"type": "int", "low": 16, "high": 128, "log": True}}
    paper = "Arevalo et al. 2017, Gated Multimodal Units for Information Fusion"

    def __init__(self, n_modalities: int, dim: int, hidden_dim: int | None = None) -> None:
        super().__init__(n_modalities, dim)
        self.output_dim = dim if hidden_dim is None else hidden_dim
        if self.output_dim < 1:
            raise ConfigError(f"fusion 'gmu': hidden_dim must be >= 1, got {hidden_dim}")
        self.transforms = nn.ModuleList(nn.Linear(dim, self.output_dim) for _ in range(n_modalities))
        self.gate = nn.Linear(n_modalities * dim, n_modalities * self.output_dim)

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        batch, n_mod, _ = zm.shape
        h = torch.stack([torch.tanh(t(zm[:, m])) for m, t in enumerate(self.transforms)], dim=1)
        logits = self.gate(zm.flatten(1)).view(batch, n_mod, self.output_dim)
        gates = masked_softmax(logits, mask.unsqueeze(-1).expand_as(logits), dim=1)  # (B, M, H)
        fused = (gates * h).sum(dim=1)
        return FusionOutput(fused=fused, weights=gates.mean(dim=-1))
