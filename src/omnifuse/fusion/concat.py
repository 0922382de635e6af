"""Concatenation fusion (the "Concat" baseline, e.g. DWFuse section 4.4)."""

from __future__ import annotations

import torch

from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class ConcatFusion(FusionOperator):
    """Concatenate the masked embeddings and the mask itself.

    ``fused = [z_1 * m_1, ..., z_M * m_M, m_1, ..., m_M]``: absent embeddings are zeroed and
    the M indicator features tell "absent" apart from a present all-zero embedding.
    ``output_dim = M * D + M``; no parameters, no weights.
    """

    name = "concat"
    paper = "Concatenation baseline (DWFuse, sec. 4.4)"

    def __init__(self, n_modalities: int, dim: int) -> None:
        super().__init__(n_modalities, dim)
        self.output_dim = n_modalities * dim + n_modalities

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        flat = masked(z, mask).flatten(1)
        return FusionOutput(fused=torch.cat([flat, mask.to(z.dtype)], dim=1))
