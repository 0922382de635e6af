"""MLP encoder for dense vectors: tabular, omics and embedding modalities."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.errors import ConfigError, DataError


def check_dims(name: str, **dims: int) -> None:
    """Raise :class:`ConfigError` unless every given size is a positive integer."""
    for key, value in dims.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{name}: {key} must be a positive integer, got {value!r}")


def check_rate(name: str, key: str, value: float) -> None:
    """Raise :class:`ConfigError` unless ``0 <= value < 1``."""
    if not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{name}: {key} must be in [0, 1), got {value!r}")


def flatten_rows(x: torch.Tensor, input_dim: int, name: str) -> torch.Tensor:
    """``x`` as ``(B, input_dim)`` float, flattening any extra dimensions."""
    if not isinstance(x, torch.Tensor) or x.dim() < 1:
        raise DataError(f"{name} expects a tensor of shape (B, {input_dim}), got {type(x).__name__}")
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] != input_dim:
        raise DataError(f"{name} expects {input_dim} features per row, got input of shape {tuple(x.shape)}")
    return flat.float()


@ENCODERS.register
class MLPEncoder(Encoder):
    """``Linear -> GELU -> LayerNorm -> Dropout`` blocks, then a linear projection.

    Args:
        input_dim: number of features per row (extra dims of the input are flattened).
        output_dim: size of the embedding.
        hidden: widths of the hidden blocks (``()`` gives a single linear layer).
        dropout: dropout after each hidden block.
    """

    name = "mlp"
    kinds = ("tabular", "omics", "embedding")
    default_for = ("tabular", "omics", "embedding")

    search_space = {
        "hidden": {"type": "int", "low": 32, "high": 256, "log": True},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    }

    def __init__(
        self,
        input_dim: int,
        output_dim: int = 64,
        hidden: int | Sequence[int] = (128,),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        hidden = (hidden,) if isinstance(hidden, int) else tuple(hidden)
        check_dims("MLPEncoder", input_dim=input_dim, output_dim=output_dim)
        for h in hidden:
            check_dims("MLPEncoder", hidden=h)
        check_rate("MLPEncoder", "dropout", dropout)
        self.input_dim = input_dim
        self.output_dim = output_dim
        layers: list[nn.Module] = []
        width = input_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.LayerNorm(h), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, output_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, input_dim)`` (or ``(B, ...)`` flattening to it) -> ``(B, output_dim)``."""
        return self.net(flatten_rows(x, self.input_dim, type(self).__name__))
