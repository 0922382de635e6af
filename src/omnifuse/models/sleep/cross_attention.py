"""Cross-modality attention (CMA, Whitlow et al. 2025 section 3.3, eqs. 6-7) for any number of modalities.

For two modalities, eq. 6 lets the sequence ``Z_2`` query ``Z_1`` (``CA(Z_1 -> Z_2)``) and
vice versa. With M modalities, the sequence of modality m queries the sequences of every
other modality at once (their epochs concatenated as keys), with projections of its own:
for M = 2 this is eqs. 6-7 in both directions. Keys of absent (epoch, modality) pairs are
masked out; a query with no key left (no other modality present in its sequence) gets no
cross term. The modality-grounded feature is ``Z^(m) = LN(Z_m + CA(others -> m))``: the
residual and the norm are ours (the paper does not say how CA output and Z_m combine), and
give a sample with one modality its own features back.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from omnifuse.fusion.base import masked_softmax


class CrossAttention(nn.Module):
    """Multi-head attention of queries ``(S, Lq, d)`` over keys ``(S, Lk, d)`` with a key mask."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.head_dim = d_model // n_heads
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, queries: torch.Tensor, keys: torch.Tensor, key_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the attended values ``(S, Lq, d)`` (zero for queries with no valid key) and
        the head-averaged attention ``(S, Lq, Lk)`` (rows sum to 1, or 0 without keys)."""
        S, Lq, D = queries.shape
        Lk = keys.shape[1]
        q = self.query(queries).view(S, Lq, self.n_heads, self.head_dim).transpose(1, 2)
        k, v = self.key_value(keys).view(S, Lk, 2, self.n_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        attn = masked_softmax(logits, key_mask[:, None, None, :])
        out = (self.dropout(attn) @ v).transpose(1, 2).reshape(S, Lq, D)
        has_key = key_mask.any(dim=1).to(out.dtype)[:, None, None]
        return self.out(out) * has_key, attn.mean(dim=1)


class CrossModalityAttention(nn.Module):
    """``Z^(m) = LN(Z_m + CA(others -> m))`` for every modality m, and who attends to whom."""

    def __init__(self, n_modalities: int, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_modalities = n_modalities
        self.attend = nn.ModuleList(CrossAttention(d_model, n_heads, dropout) for _ in range(n_modalities))
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(n_modalities))
        self.dropout = nn.Dropout(dropout)

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` ``(S, L, M, d)`` modality sequences, ``mask`` ``(S, L, M)`` presence.

        Returns ``Z^(m)`` ``(S, L, M, d)`` and ``received`` ``(S, L, M, M)``: the attention mass
        the query of modality m at each epoch puts on modality n (summed over n's epochs;
        0 on the diagonal; rows sum to 1, or to 0 when the query's modality is absent or
        nothing else is present).
        """
        S, L, M, D = z.shape
        grounded, received = [], z.new_zeros(S, L, M, M)
        for m in range(M):
            others = [n for n in range(M) if n != m]
            if not others:
                grounded.append(self.norms[m](z[:, :, m]))
                continue
            keys = z[:, :, others].transpose(1, 2).reshape(S, len(others) * L, D)
            key_mask = mask[:, :, others].transpose(1, 2).reshape(S, len(others) * L)
            cross, attn = self.attend[m](z[:, :, m], keys, key_mask)
            grounded.append(self.norms[m](z[:, :, m] + self.dropout(cross)))
            mass = attn.view(S, L, len(others), L).sum(dim=-1)
            received[:, :, m, others] = mass * mask[:, :, m, None].to(mass.dtype)
        return torch.stack(grounded, dim=2), received
