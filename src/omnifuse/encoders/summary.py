"""Summary encoder for irregular series: per-channel statistics of the observed values, an MLP.

The statistics are those of the scikit-learn baselines (``models.features``: mean, last,
min, max, observed share) plus the least-squares slope against time and the time since
the last observation, computed in torch from a :class:`SeriesBatch` so the encoder trains
end to end inside any fusion. Optionally a sequence encoder (GRU-D, LSTM, transformer)
runs beside it and both embeddings are concatenated and projected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.data.collate import SeriesBatch
from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.grud import GRUDEncoder
from omnifuse.encoders.mlp import MLPEncoder, check_dims, check_rate
from omnifuse.encoders.recurrent import LSTMEncoder, series_inputs
from omnifuse.encoders.transformer import TimeSeriesTransformerEncoder
from omnifuse.errors import ConfigError

#: Statistics per channel, in this order.
STATS = ("mean", "last", "min", "max", "observed", "slope", "since_last")

#: Sequence encoders that can run beside the summaries (``sequence`` option).
SEQUENCE_TYPES: dict[str, type[Encoder]] = {
    "grud": GRUDEncoder,
    "lstm": LSTMEncoder,
    "transformer": TimeSeriesTransformerEncoder,
}


def series_statistics(
    x: SeriesBatch, stats: Sequence[str] = STATS, time_scale: float = 1.0, slope_clip: float | None = None
) -> torch.Tensor:
    """Per-channel statistics of the observed values: ``(B, len(stats) * C)``, grouped by statistic.

    Only observed values on real steps count. ``observed`` is the share of the row's real
    steps at which the channel was measured; ``slope`` the least-squares slope of the values
    against time (per ``time_scale`` time units; 0 with fewer than two distinct times; clamped
    to ``+-slope_clip`` when given, as two close measurements give extreme slopes);
    ``since_last`` the time from the channel's last observation to the row's last real
    step (in ``time_scale`` units). A channel never observed in a row gets 0 for every
    statistic (the training mean after standardisation), which its ``observed`` share of 0
    flags.
    """
    unknown = [s for s in stats if s not in STATS]
    if unknown:
        raise ConfigError(f"unknown series statistic(s) {unknown} (valid: {', '.join(STATS)})")
    values, obs, step_mask = series_inputs(x, x.values.shape[-1], "series_statistics")
    B, T, C = values.shape
    if T == 0:
        return values.new_zeros(B, len(stats) * C)
    zero = torch.zeros((), dtype=values.dtype, device=values.device)
    times = torch.where(step_mask, x.times.float(), zero).unsqueeze(-1) / time_scale  # (B, T, 1)
    w = obs.to(values.dtype)
    count = w.sum(dim=1)
    has = count > 0
    n = count.clamp(min=1)
    out: dict[str, torch.Tensor] = {}
    mean = (values * w).sum(dim=1) / n
    out["mean"] = mean
    big = torch.finfo(values.dtype).max
    out["min"] = torch.where(has, torch.where(obs, values, big).amin(dim=1), zero)
    out["max"] = torch.where(has, torch.where(obs, values, -big).amax(dim=1), zero)
    steps = torch.arange(T, device=values.device).view(1, -1, 1)
    last_idx = torch.where(obs, steps, -1).amax(dim=1).clamp(min=0)  # (B, C)
    last = values.gather(1, last_idx.unsqueeze(1)).squeeze(1)
    out["last"] = torch.where(has, last, zero)
    out["observed"] = count / step_mask.to(values.dtype).sum(dim=1, keepdim=True).clamp(min=1)
    t = times.expand_as(values)
    t_mean = (t * w).sum(dim=1) / n
    dt = (t - t_mean.unsqueeze(1)) * w
    dv = (values - mean.unsqueeze(1)) * w
    var = (dt * dt).sum(dim=1)
    ok = var > 1e-12
    slope = torch.where(ok, (dt * dv).sum(dim=1) / torch.where(ok, var, torch.ones_like(var)), zero)
    out["slope"] = slope if slope_clip is None else slope.clamp(-slope_clip, slope_clip)
    end = torch.where(step_mask, times.squeeze(-1), -big).amax(dim=1, keepdim=True)  # last real step
    t_last = t.gather(1, last_idx.unsqueeze(1)).squeeze(1)
    out["since_last"] = torch.where(has, end - t_last, zero)
    return torch.cat([out[s] for s in stats], dim=1)


@ENCODERS.register
class SummaryEncoder(Encoder):
    """Per-channel statistics of an irregular series (:func:`series_statistics`), then an MLP.

    With ``sequence`` set, that sequence encoder (built with ``sequence_options``) encodes
    the same series beside the summaries; the two embeddings are concatenated and
    projected to ``output_dim``.

    Args:
        input_dim: number of channels C.
        output_dim: size of the embedding.
        hidden: widths of the MLP's hidden blocks (:class:`MLPEncoder`).
        dropout: dropout after each hidden block.
        stats: which statistics (subset of :data:`STATS`, any order).
        time_scale: time units per unit of ``slope`` and ``since_last`` (e.g. 24 for hours
            -> days), keeping those inputs near unit scale.
        slope_clip: bound on ``|slope|`` (``None``: no bound).
        sequence: ``"none"``, ``"grud"``, ``"lstm"`` or ``"transformer"``.
        sequence_options: constructor options of the sequence encoder (e.g. ``{"hidden": 64}``).
    """

    name = "summary"
    kinds = ("timeseries",)
    priority = 1  # listed after the sequence encoders it can wrap

    #: Tuner search space, keys relative to the encoder's config section.
    search_space: ClassVar[dict[str, dict[str, Any]]] = {
        "hidden": {"type": "categorical", "choices": [[64], [128], [256], [128, 64]]},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "sequence": {"type": "categorical", "choices": ["none", "grud"]},
    }

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        hidden: Sequence[int] = (128,),
        dropout: float = 0.1,
        stats: Sequence[str] = STATS,
        time_scale: float = 1.0,
        slope_clip: float | None = 10.0,
        sequence: str = "none",
        sequence_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        name = "SummaryEncoder"
        check_dims(name, input_dim=input_dim, output_dim=output_dim)
        check_rate(name, "dropout", dropout)
        stats = (stats,) if isinstance(stats, str) else tuple(stats)
        bad = [s for s in stats if s not in STATS]
        if not stats or bad or len(set(stats)) != len(stats):
            raise ConfigError(f"{name}: stats must be distinct names among {', '.join(STATS)}, got {list(stats)}")
        if not float(time_scale) > 0:
            raise ConfigError(f"{name}: time_scale must be > 0, got {time_scale!r}")
        if slope_clip is not None and not float(slope_clip) > 0:
            raise ConfigError(f"{name}: slope_clip must be > 0 or None, got {slope_clip!r}")
        sequence = str(sequence).lower()
        if sequence not in ("none", *SEQUENCE_TYPES):
            raise ConfigError(f"{name}: sequence must be none, {', '.join(SEQUENCE_TYPES)}; got {sequence!r}")
        if sequence == "none" and sequence_options:
            raise ConfigError(f"{name}: sequence_options given but sequence is 'none'")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.stats = stats
        self.time_scale = float(time_scale)
        self.slope_clip = None if slope_clip is None else float(slope_clip)
        self.sequence_type = sequence
        self.mlp = MLPEncoder(len(stats) * input_dim, output_dim, hidden, dropout)
        self.sequence: Encoder | None = None
        self.proj: nn.Module | None = None
        if sequence != "none":
            self.sequence = SEQUENCE_TYPES[sequence](input_dim, output_dim, **dict(sequence_options or {}))
            self.proj = nn.Linear(2 * output_dim, output_dim)

    def forward(self, x: SeriesBatch) -> torch.Tensor:
        """:class:`SeriesBatch` with C channels -> ``(B, output_dim)``."""
        series_inputs(x, self.input_dim, type(self).__name__)  # type and shape checks
        out = self.mlp(series_statistics(x, self.stats, self.time_scale, self.slope_clip))
        if self.sequence is None or self.proj is None:
            return out
        return self.proj(torch.cat([out, self.sequence(x)], dim=-1))
