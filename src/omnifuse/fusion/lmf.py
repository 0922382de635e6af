"""Low-rank Multimodal Fusion (Liu et al., ACL 2018)."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class LowRankFusion(FusionOperator):
    """Low-rank tensor fusion (LMF, Liu et al. 2018, eqs. 5-6).

    The TFN weight tensor is factorised into ``R`` modality-specific factors
    ``W_m^(i)``: ``fused = sum_i lambda_i * prod_m ([z_m; 1] W_m^(i)) + b``, computed without
    forming the outer product. An absent modality enters as ``[0; 1]``, i.e. contributes
    only its learned bias row, so a row with nothing present gets a learned constant.

    Args:
        rank: ``R``, the number of rank-one factors.
        output_dim: width of the fused vector (default ``dim``).

    No weights.
    """

    name = "lmf"
    paper = "Liu et al. 2018, Efficient Low-rank Multimodal Fusion with Modality-Specific Factors"
    search_space = {"rank": {"type": "int", "low": 2, "high": 16, "log": True}}

    def __init__(self, n_modalities: int, dim: int, rank: int = 4, output_dim: int | None = None) -> None:
        super().__init__(n_modalities, dim)
        if rank < 1:
            raise ConfigError(f"fusion 'lmf': rank must be >= 1, got {rank}")
        self.rank = rank
        self.output_dim = dim if output_dim is None else output_dim
        if self.output_dim < 1:
            raise ConfigError(f"fusion 'lmf': output_dim must be >= 1, got {output_dim}")
        self.factors = nn.Parameter(torch.empty(n_modalities, rank, dim + 1, self.output_dim))
        self.rank_weights = nn.Parameter(torch.empty(1, rank))
        self.bias = nn.Parameter(torch.zeros(self.output_dim))
        for m in range(n_modalities):
            nn.init.xavier_normal_(self.factors.data[m])
        nn.init.xavier_normal_(self.rank_weights)

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        ones = zm.new_ones(*zm.shape[:2], 1)
        z1 = torch.cat([zm, ones], dim=-1)  # (B, M, D + 1); absent -> [0; 1]
        per_modality = torch.einsum("bmd,mrdo->bmro", z1, self.factors)  # (B, M, R, O)
        product = per_modality.prod(dim=1)  # (B, R, O)
        fused = torch.einsum("r,bro->bo", self.rank_weights[0], product) + self.bias
        return FusionOutput(fused=fused)
