"""Denoising autoencoder encoder for high-dimensional omics vectors."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.mlp import check_dims, check_rate, flatten_rows
from omnifuse.errors import ConfigError


@ENCODERS.register
class DenoisingAEEncoder(Encoder):
    """An encoder/decoder pair; ``forward`` returns the code of the clean input.

    During training, :meth:`auxiliary_losses` corrupts the input (masking noise: each entry
    set to 0, the training mean after standardisation, with probability ``corruption``;
    then additive Gaussian noise of std ``noise_std``) and asks the decoder to reconstruct
    the clean input from the code.

    Args:
        input_dim: number of features.
        output_dim: size of the code.
        hidden: width of the hidden layer of encoder and decoder.
        corruption: probability of masking each entry.
        noise_std: standard deviation of the additive Gaussian noise.
    """

    name = "dae"
    kinds = ("omics",)

    search_space = {
        "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
        "corruption": {"type": "float", "low": 0.0, "high": 0.5},
        "noise_std": {"type": "float", "low": 0.0, "high": 0.5},
    }

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        hidden: int = 128,
        corruption: float = 0.2,
        noise_std: float = 0.1,
    ) -> None:
        super().__init__()
        check_dims("DenoisingAEEncoder", input_dim=input_dim, output_dim=output_dim, hidden=hidden)
        check_rate("DenoisingAEEncoder", "corruption", corruption)
        if noise_std < 0:
            raise ConfigError(f"DenoisingAEEncoder: noise_std must be >= 0, got {noise_std!r}")
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.corruption = float(corruption)
        self.noise_std = float(noise_std)
        self.encoder = nn.Sequential(
            nn.Linear(input_dim, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, output_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(output_dim, hidden), nn.GELU(), nn.LayerNorm(hidden), nn.Linear(hidden, input_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, input_dim)`` -> code ``(B, output_dim)`` (no corruption)."""
        return self.encoder(flatten_rows(x, self.input_dim, type(self).__name__))

    def corrupt(self, x: torch.Tensor) -> torch.Tensor:
        """Masking noise followed by additive Gaussian noise."""
        if self.corruption > 0:
            keep = torch.rand_like(x) >= self.corruption
            x = x * keep
        if self.noise_std > 0:
            x = x + self.noise_std * torch.randn_like(x)
        return x

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder output for the corrupted version of ``x`` ``(B, input_dim)``."""
        return self.decoder(self.encoder(self.corrupt(x)))

    def auxiliary_losses(self, x: torch.Tensor, present: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"reconstruction": MSE}`` averaged over present rows (0 if none is present).

        Absent rows are dropped before any computation, so their placeholders (even NaN)
        cannot affect the loss or its gradients. The zero loss of an all-absent batch stays
        attached to the graph, so ``backward`` works on it.
        """
        flat = flatten_rows(x, self.input_dim, type(self).__name__)
        rows = flat[present.to(device=flat.device, dtype=torch.bool).reshape(-1)]
        recon = self.reconstruct(rows)
        per_row = (recon - rows).pow(2).mean(dim=1)
        return {"reconstruction": per_row.sum() / max(int(rows.shape[0]), 1)}
