"""Sum / mean fusion (the "Sum" baseline, e.g. DWFuse section 4.4)."""

from __future__ import annotations

import torch

from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class SumFusion(FusionOperator):
    """Sum of the present embeddings, ``fused = sum_m mask_m * z_m``.

    Args:
        mean: average over the present modalities instead of summing.

    ``output_dim = D``; no parameters. Rows with nothing present give zeros. With
    ``mean=True`` the weights ``mask_m / n_present`` are returned; otherwise none.
    """

    name = "sum"
    paper = "Summation baseline (DWFuse, sec. 4.4)"

    def __init__(self, n_modalities: int, dim: int, mean: bool = False) -> None:
        super().__init__(n_modalities, dim)
        self.mean = mean
        self.output_dim = dim

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        if not self.mean:
            return FusionOutput(fused=zm.sum(dim=1))
        weights = mask.to(z.dtype)
        weights = weights / weights.sum(dim=1, keepdim=True).clamp_min(1.0)
        return FusionOutput(fused=(weights.unsqueeze(-1) * zm).sum(dim=1), weights=weights)
