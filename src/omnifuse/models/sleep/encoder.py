"""The hierarchical (inner/outer) transformer of MedFuseSleep (Whitlow et al. 2025) section 3.2."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.models.sleep.options import Architecture
from omnifuse.models.sleep.transformer import RelativeTransformer


class EpochEncoder(nn.Module):
    """Inner transformer: one 30 s epoch of STFT frames ``(N, T, F)`` -> ``(N, d_model)``.

    Frames are projected ``F -> d_model``, a learnable [CLS] token is put in front (position
    0) and its output is the epoch embedding.
    """

    def __init__(self, n_bins: int, arch: Architecture) -> None:
        super().__init__()
        self.project = nn.Linear(n_bins, arch.d_model)
        self.cls = nn.Parameter(torch.zeros(arch.d_model))
        nn.init.normal_(self.cls, std=0.02)
        self.transformer = RelativeTransformer(
            arch.inner_layers, arch.d_model, arch.n_heads, arch.d_ff, arch.dropout, arch.max_relative_distance
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.project(x)
        cls = self.cls.expand(h.shape[0], 1, -1)
        return self.transformer(torch.cat([cls, h], dim=1))[:, 0]


class SequenceEncoder(nn.Module):
    """Outer transformer over the epoch embeddings of a sequence: ``(S, L, d)`` -> ``(S, L, d)``."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.transformer = RelativeTransformer(
            arch.outer_layers, arch.d_model, arch.n_heads, arch.d_ff, arch.dropout, arch.max_relative_distance
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.transformer(z)


class HierarchicalEncoder(nn.Module):
    """Inner + outer transformer of one input stream, absent epochs replaced by a learned token.

    ``forward(x, present, length)``: ``x`` ``(N, T, F)`` with ``N = S * L`` rows in blocks of
    ``length`` consecutive epochs, ``present`` ``(N,)`` bool. Only present epochs go through
    the inner transformer (the input of an absent epoch is never read); absent ones enter
    the outer transformer as the learned "missing" embedding. Returns ``(N, d_model)``.
    """

    def __init__(self, n_bins: int, arch: Architecture) -> None:
        super().__init__()
        self.inner = EpochEncoder(n_bins, arch)
        self.outer = SequenceEncoder(arch)
        self.missing = nn.Parameter(torch.zeros(arch.d_model))

    def epoch_embeddings(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``(N, d_model)``: inner embeddings of present epochs, the missing token elsewhere."""
        out = self.missing.expand(x.shape[0], -1).clone()
        rows = present.nonzero(as_tuple=True)[0]
        if len(rows):
            out = out.index_put((rows,), self.inner(x[rows]))
        return out

    def forward(self, x: torch.Tensor, present: torch.Tensor, length: int) -> torch.Tensor:
        z = self.epoch_embeddings(x, present)
        return self.outer(z.view(-1, length, z.shape[-1])).reshape(z.shape)
