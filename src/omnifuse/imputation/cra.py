"""Cascade residual autoencoder (CRA), Wu et al. 2025 eqs. 4-6.

``Delta z_1 = phi_1(v)``, ``Delta z_k = phi_k(v + sum_{j<k} Delta z_j)`` and the imputed
embedding is ``v + sum_k Delta z_k``. Each residual autoencoder exposes its bottleneck
``c_k``; their concatenation is OmniFuse's joint multimodal embedding (eq. 11).
"""

from __future__ import annotations

import torch
from torch import nn


class ResidualAutoencoder(nn.Module):
    """``phi_k``: ``width -> hidden -> latent (c_k) -> hidden -> width``."""

    def __init__(self, width: int, hidden: int = 128, latent: int = 32, dropout: float = 0.0) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, latent)
        )
        self.decoder = nn.Sequential(nn.GELU(), nn.Linear(latent, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(Delta z, c)``."""
        latent = self.encoder(v)
        return self.decoder(latent), latent


class CascadeResidualAutoencoder(nn.Module):
    """K residual autoencoders in cascade; ``forward(v)`` returns ``(v + sum Delta z, [c_1..c_K])``."""

    def __init__(
        self, width: int, n_blocks: int = 5, hidden: int = 128, latent: int = 32, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ResidualAutoencoder(width, hidden, latent, dropout) for _ in range(n_blocks))
        self.latent_dim = latent * n_blocks

    def forward(self, v: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        total = torch.zeros_like(v)
        latents = []
        for block in self.blocks:
            delta, latent = block(v + total)
            total = total + delta
            latents.append(latent)
        return v + total, latents
