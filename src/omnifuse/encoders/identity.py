"""Pass-through encoder for precomputed embeddings."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.mlp import check_dims, flatten_rows


@ENCODERS.register
class IdentityEncoder(Encoder):
    """Returns the (flattened) input unchanged, optionally layer-normalised.

    Args:
        input_dim: embedding size; ``output_dim == input_dim``.
        layer_norm: apply a learnable LayerNorm to each row (off by default).
    """

    name = "identity"
    kinds = ("embedding",)
    keeps_input_size = True

    def __init__(self, input_dim: int, layer_norm: bool = False) -> None:
        super().__init__()
        check_dims("IdentityEncoder", input_dim=input_dim)
        self.input_dim = input_dim
        self.output_dim = input_dim
        self.norm: nn.Module = nn.LayerNorm(input_dim) if layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, input_dim)`` -> ``(B, input_dim)``."""
        return self.norm(flatten_rows(x, self.input_dim, type(self).__name__))
