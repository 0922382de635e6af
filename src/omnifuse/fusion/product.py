"""Element-wise (multiplicative) fusion over the present modalities."""

from __future__ import annotations

import torch

from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class ProductFusion(FusionOperator):
    """Element-wise product ``fused = prod_m (1 + tanh(mask_m * z_m))``.

    Each embedding goes through the bounded map ``u -> 1 + tanh(u)`` (values in ``(0, 2)``,
    equal to 1 at ``u = 0``) before the product, so the result stays in ``(0, 2^M)`` however
    large the embeddings are, and an absent modality (zeroed by the mask) contributes the
    neutral factor exactly 1. A row with nothing present gives all ones.
    ``output_dim = D``; no parameters, no weights.
    """

    name = "product"
    paper = "Multiplicative fusion (element-wise product of bounded embeddings)"

    def __init__(self, n_modalities: int, dim: int) -> None:
        super().__init__(n_modalities, dim)
        self.output_dim = dim

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        factors = 1.0 + torch.tanh(masked(z, mask))
        return FusionOutput(fused=factors.prod(dim=1))
