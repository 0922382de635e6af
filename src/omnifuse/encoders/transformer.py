"""Transformer encoder for irregular series with a continuous-time encoding."""

from __future__ import annotations

import math

import torch
from torch import nn

from omnifuse.data.collate import SeriesBatch
from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.mlp import check_dims, check_rate
from omnifuse.encoders.recurrent import series_inputs
from omnifuse.errors import ConfigError


def time_encoding(times: torch.Tensor, dim: int, max_period: float = 1000.0) -> torch.Tensor:
    """Sinusoidal encoding ``(..., dim)`` of continuous time stamps ``(...)`` (``dim`` even).

    Frequencies are geometric from 1 to ``1 / max_period`` (radians per time unit), so
    stamps in hours are resolved from sub-hour to ~``max_period`` hours.
    """
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=times.device) / max(half, 1))
    angles = times.float().unsqueeze(-1) * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


@ENCODERS.register
class TimeSeriesTransformerEncoder(Encoder):
    """Per-step embedding of ``[values, observed]`` + time encoding, Transformer, masked mean.

    Padding steps are excluded from attention (``src_key_padding_mask``) and from the
    pooling. Rows with no real step attend to one unmasked dummy step (an all-masked row
    would give NaN) and their pooled vector is set to zeros.

    Args:
        input_dim: number of channels C.
        output_dim: size of the embedding.
        d_model: width of the transformer (even, divisible by ``n_heads``).
        n_heads: attention heads.
        layers: transformer layers.
        ff_dim: width of the feed-forward blocks.
        dropout: dropout inside the transformer.
        max_period: longest period of the time encoding, in the series' time unit.
    """

    name = "transformer"
    kinds = ("timeseries",)

    search_space = {"dropout": {"type": "float", "low": 0.0, "high": 0.3}}

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        d_model: int = 64,
        n_heads: int = 4,
        layers: int = 2,
        ff_dim: int = 128,
        dropout: float = 0.1,
        max_period: float = 1000.0,
    ) -> None:
        super().__init__()
        name = "TimeSeriesTransformerEncoder"
        check_dims(
            name,
            input_dim=input_dim,
            output_dim=output_dim,
            d_model=d_model,
            n_heads=n_heads,
            layers=layers,
            ff_dim=ff_dim,
        )
        check_rate(name, "dropout", dropout)
        if d_model % 2 or d_model % n_heads:
            raise ConfigError(f"{name}: d_model ({d_model}) must be even and divisible by n_heads ({n_heads})")
        if max_period <= 1:
            raise ConfigError(f"{name}: max_period must be > 1, got {max_period!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.d_model = d_model
        self.max_period = float(max_period)
        self.embed = nn.Linear(2 * input_dim, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, ff_dim, dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.proj = nn.Linear(d_model, output_dim)

    def forward(self, x: SeriesBatch) -> torch.Tensor:
        """:class:`SeriesBatch` with C channels -> ``(B, output_dim)``."""
        values, observed, step_mask = series_inputs(x, self.input_dim, type(self).__name__)
        B, T, _ = values.shape
        if T == 0:
            return self.proj(values.new_zeros(B, self.d_model))
        times = torch.where(step_mask, x.times.float(), torch.zeros((), device=values.device))
        h = self.embed(torch.cat([values, observed.to(values.dtype)], dim=-1))
        h = h + time_encoding(times, self.d_model, self.max_period)
        has_steps = step_mask.any(dim=1)
        padding = ~step_mask
        padding[:, 0] &= has_steps  # unmask a dummy first step for empty rows
        h = self.transformer(h, src_key_padding_mask=padding)
        keep = step_mask.unsqueeze(-1)
        total = torch.where(keep, h, torch.zeros((), device=h.device, dtype=h.dtype)).sum(dim=1)
        pooled = total / keep.sum(dim=1).clamp(min=1).to(h.dtype)
        return self.proj(pooled)
