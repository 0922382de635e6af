"""LSTM encoder for regularly sampled series (MedFuse style), and shared series helpers."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from omnifuse.data.collate import SeriesBatch
from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.mlp import check_dims, check_rate
from omnifuse.errors import DataError


def series_inputs(x: SeriesBatch, input_dim: int, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sanitised ``(values, observed, step_mask)`` of a :class:`SeriesBatch`.

    ``observed`` is restricted to real steps and ``values`` is 0 wherever nothing was
    observed (whatever the placeholder was, NaN included), so encoders never see the
    values at unobserved or padding positions.
    """
    if not isinstance(x, SeriesBatch):
        raise DataError(f"{name} expects a SeriesBatch, got {type(x).__name__}")
    if x.values.dim() != 3 or x.values.shape[-1] != input_dim:
        raise DataError(f"{name} expects series values of shape (B, T, {input_dim}), got {tuple(x.values.shape)}")
    step_mask = x.step_mask.bool()
    observed = x.observed.bool() & step_mask.unsqueeze(-1)
    values = torch.where(observed, x.values.float(), torch.zeros((), device=x.values.device))
    return values, observed, step_mask


@ENCODERS.register
class LSTMEncoder(Encoder):
    """LSTM over ``[values, observed mask]`` per step; the last hidden state is projected.

    Meant for regularly sampled series (e.g. MIMIC variables resampled every 2 h, as in
    MedFuse); time stamps are ignored. Real steps must form a prefix of each row (as
    produced by :func:`~omnifuse.data.collate.series_to_batch`). Rows with no real step
    get a learned vector.

    Args:
        input_dim: number of channels C (the LSTM reads 2C features per step).
        output_dim: size of the embedding.
        hidden: LSTM hidden size.
        layers: number of stacked LSTM layers.
        dropout: dropout between LSTM layers and on the final hidden state.
    """

    name = "lstm"
    kinds = ("timeseries",)

    search_space = {
        "hidden": {"type": "int", "low": 16, "high": 128, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        hidden: int = 128,
        layers: int = 1,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        check_dims("LSTMEncoder", input_dim=input_dim, output_dim=output_dim, hidden=hidden, layers=layers)
        check_rate("LSTMEncoder", "dropout", dropout)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.lstm = nn.LSTM(
            2 * input_dim,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden, output_dim)
        self.empty = nn.Parameter(torch.zeros(output_dim))

    def forward(self, x: SeriesBatch) -> torch.Tensor:
        """:class:`SeriesBatch` with C channels -> ``(B, output_dim)``."""
        values, observed, step_mask = series_inputs(x, self.input_dim, type(self).__name__)
        feats = torch.cat([values, observed.float()], dim=-1)
        lengths = step_mask.sum(dim=1)
        if feats.shape[1] == 0:  # no step at all in the batch
            return self.empty.expand(feats.shape[0], -1)
        packed = pack_padded_sequence(feats, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        out = self.proj(self.dropout(h_n[-1]))
        return torch.where((lengths > 0).unsqueeze(-1), out, self.empty.expand_as(out))
