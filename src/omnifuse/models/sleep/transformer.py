"""Post-norm transformer encoder layers with relative position keys (Whitlow et al. 2025 eqs. 1-5)."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.models.sleep.attention import RelativeSelfAttention


class RelativeTransformerLayer(nn.Module):
    """``Z = LN(X + MHSA(X))``, ``out = LN(Z + FF(Z))`` with ``FF = ReLU(Z W1 + b1) W2 + b2``."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1, max_distance: int = 16) -> None:
        super().__init__()
        self.attention = RelativeSelfAttention(d_model, n_heads, dropout, max_distance)
        self.feed_forward = nn.Sequential(
            nn.Linear(d_model, d_ff), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d_ff, d_model)
        )
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d_model)`` -> same shape."""
        z = self.norm1(x + self.dropout(self.attention(x)))
        return self.norm2(z + self.dropout(self.feed_forward(z)))


class RelativeTransformer(nn.Module):
    """A stack of :class:`RelativeTransformerLayer` (each with its own relative-key table)."""

    def __init__(
        self, n_layers: int, d_model: int, n_heads: int, d_ff: int, dropout: float = 0.1, max_distance: int = 16
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            RelativeTransformerLayer(d_model, n_heads, d_ff, dropout, max_distance) for _ in range(n_layers)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x
