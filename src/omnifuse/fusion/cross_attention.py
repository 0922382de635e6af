"""Cross-modality attention fusion (MedFuseSleep, sec. 3.3, eqs. 6-7), generalised to M."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class CrossModalAttentionFusion(FusionOperator):
    """Each present modality queries the other present ones; the results are summed.

    For query modality ``m``: ``c_m = MHA(q = z_m, k = v = {z_k : k != m, k present})``
    (eqs. 6-7: per-head scaled dot-product attention, heads concatenated and projected by
    ``W^O``), then ``u_m = LayerNorm(z_m + c_m)`` and ``fused = sum_{m present} u_m``
    (the paper's ``Z_fusion = sum_m Z^(m)``). A modality with no other present modality has
    nothing to attend to and keeps its own embedding: ``c_m = 0``, ``u_m = LayerNorm(z_m)``.
    A row with nothing present gives zeros.

    Args:
        num_heads: attention heads (must divide ``dim``; default 1).
        dropout: attention dropout.

    ``output_dim = D``; no weights.
    """

    name = "cross-attention"
    search_space = {"dropout": {"type": "float", "low": 0.0, "high": 0.3}}
    paper = "Generalizable and Resilient Multimodal Temporal Learning (MedFuseSleep), eqs. 6-7"

    def __init__(self, n_modalities: int, dim: int, num_heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__(n_modalities, dim)
        if num_heads < 1 or dim % num_heads != 0:
            raise ConfigError(f"fusion 'cross-attention': num_heads must be >= 1 and divide dim={dim}, got {num_heads}")
        self.num_heads = num_heads
        self.attention = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.output_dim = dim

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        batch, n_mod, _ = zm.shape
        eye = torch.eye(n_mod, dtype=torch.bool, device=z.device)
        # allowed[b, q, k]: query q may attend to key k (k present and k != q); this combines
        # the key-padding mask from ``mask`` with the "exclude self" mask.
        allowed = mask.unsqueeze(1) & ~eye
        has_context = allowed.any(dim=-1)  # (B, M)
        # A query with no allowed key would give a NaN softmax: let it see itself instead and
        # discard the result below (keeps forward and backward finite).
        allowed = allowed | (eye & ~has_context.unsqueeze(-1))
        attn_mask = (~allowed).repeat_interleave(self.num_heads, dim=0)  # (B * heads, M, M)
        context, _ = self.attention(zm, zm, zm, attn_mask=attn_mask, need_weights=False)
        context = torch.where(has_context.unsqueeze(-1), context, 0.0)
        updated = self.norm(zm + context)
        fused = masked(updated, mask).sum(dim=1)
        return FusionOutput(fused=fused)
