"""MedFuse (Hayat et al., MLHC 2022): an LSTM over the sequence of present modality embeddings."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class MedFuseLSTMFusion(FusionOperator):
    """LSTM-based fusion of MedFuse (Hayat et al. 2022, sec. 3.3) for any M.

    The present embeddings of a sample form a sequence in modality order; absent ones are
    skipped (not zero-filled), which is how MedFuse handles a missing chest X-ray. Present
    embeddings are moved to the front of each row, packed with their lengths and run through
    the LSTM; the fused vector is the last layer's final hidden state. A row with nothing
    present gets a learned vector ``empty`` (initialised to zero).

    Args:
        hidden_dim: LSTM hidden size (default ``dim``); ``output_dim = hidden_dim``.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers (only used when ``num_layers > 1``).

    No weights.
    """

    name = "medfuse-lstm"
    search_space = {"hidden_dim": {"type": "int", "low": 16, "high": 128, "log": True}}
    paper = "Hayat et al. 2022, MedFuse: Multi-modal fusion with clinical time-series data and chest X-ray images"

    def __init__(
        self,
        n_modalities: int,
        dim: int,
        hidden_dim: int | None = None,
        num_layers: int = 1,
        dropout: float = 0.0,
    ) -> None:
        super().__init__(n_modalities, dim)
        self.output_dim = dim if hidden_dim is None else hidden_dim
        if self.output_dim < 1 or num_layers < 1:
            raise ConfigError(
                f"fusion 'medfuse-lstm': hidden_dim and num_layers must be >= 1, got {hidden_dim} and {num_layers}"
            )
        self.lstm = nn.LSTM(
            dim,
            self.output_dim,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.empty = nn.Parameter(torch.zeros(self.output_dim))

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        batch = z.shape[0]
        lengths = mask.sum(dim=1)
        fused = self.empty.expand(batch, self.output_dim)
        rows = torch.nonzero(lengths > 0).squeeze(1)
        if rows.numel() == 0:
            return FusionOutput(fused=fused.clone())
        row_mask = mask[rows]
        # Stable sort puts the present modalities first, keeping their modality order.
        order = torch.argsort((~row_mask).to(torch.int8), dim=1, stable=True)
        compact = torch.gather(masked(z, mask)[rows], 1, order.unsqueeze(-1).expand(-1, -1, z.shape[-1]))
        packed = pack_padded_sequence(compact, lengths[rows].cpu(), batch_first=True, enforce_sorted=False)
        _, (h_n, _) = self.lstm(packed)
        fused = fused.index_copy(0, rows, h_n[-1].to(fused.dtype))
        return FusionOutput(fused=fused)
