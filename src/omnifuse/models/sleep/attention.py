"""Multi-head self-attention with learnable relative position keys (Shaw et al. 2018, [58] of Whitlow et al. 2025).

Seed 003 section 4.1: "relative positional embeddings added to the attention keys". Following
Shaw et al. (eqs. 4-5 of their paper, keys only), the logit of query ``i`` and key ``j`` is

    e_ij = q_i . (k_j + a_ij) / sqrt(d_k),   a_ij = w[clip(j - i, -K, K)],

with ``w`` a learned ``(2K + 1, d_k)`` table per layer, shared by the heads. The term
``q_i . a_ij`` depends on the positions only through ``j - i``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def relative_index(n_queries: int, n_keys: int, max_distance: int, device: torch.device | None = None) -> torch.Tensor:
    """``(n_queries, n_keys)`` long: ``clip(j - i, -K, K) + K``, the row of the table for (i, j)."""
    i = torch.arange(n_queries, device=device).unsqueeze(1)
    j = torch.arange(n_keys, device=device).unsqueeze(0)
    return (j - i).clamp(-max_distance, max_distance) + max_distance


class RelativeKeys(nn.Module):
    """The learned table ``w`` of relative key embeddings and the logits ``q_i . a_ij``."""

    def __init__(self, head_dim: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.table = nn.Parameter(torch.empty(2 * max_distance + 1, head_dim))
        nn.init.normal_(self.table, std=head_dim**-0.5)

    def embeddings(self, length: int) -> torch.Tensor:
        """``(T, T, d_k)``: ``a_ij`` for every pair of positions (for inspection and tests)."""
        return self.table[relative_index(length, length, self.max_distance, self.table.device)]

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        """``q`` ``(..., T, d_k)`` -> ``(..., T, T)`` logits ``q_i . a_ij`` (unscaled)."""
        T = q.shape[-2]
        per_distance = q @ self.table.t()  # (..., T, 2K+1): q_i against every distance
        index = relative_index(T, T, self.max_distance, q.device).expand(*q.shape[:-2], T, T)
        return per_distance.gather(-1, index)


class RelativeSelfAttention(nn.Module):
    """Multi-head self-attention (eqs. 1-2 of Whitlow et al. 2025) with relative position keys."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0, max_distance: int = 16) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.relative = RelativeKeys(self.head_dim, max_distance)
        self.dropout = nn.Dropout(dropout)

    def _heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        return q, k, v  # each (B, H, T, d_k)

    def _logits(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return (q @ k.transpose(-1, -2) + self.relative(q)) / math.sqrt(self.head_dim)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-softmax logits ``(B, H, T, T)`` for ``x`` ``(B, T, d_model)``."""
        q, k, _ = self._heads(x)
        return self._logits(q, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, d_model)`` -> ``(B, T, d_model)``."""
        B, T, D = x.shape
        q, k, v = self._heads(x)
        attn = self.dropout(torch.softmax(self._logits(q, k), dim=-1))
        return self.out((attn @ v).transpose(1, 2).reshape(B, T, D))
