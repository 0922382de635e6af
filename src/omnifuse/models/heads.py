"""Classifier heads shared by the models."""

from __future__ import annotations

import torch
from torch import nn


class ClassifierHead(nn.Module):
    """``in_dim -> n_outputs``: one hidden GELU layer (``hidden > 0``) or a linear map."""

    def __init__(self, in_dim: int, n_outputs: int, hidden: int = 64, dropout: float = 0.1) -> None:
        super().__init__()
        if hidden > 0:
            self.net: nn.Module = nn.Sequential(
                nn.LayerNorm(in_dim),
                nn.Linear(in_dim, hidden),
                nn.GELU(),
                nn.Dropout(dropout),
                nn.Linear(hidden, n_outputs),
            )
        else:
            self.net = nn.Linear(in_dim, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
