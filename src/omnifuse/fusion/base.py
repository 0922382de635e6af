"""The fusion contract: ``(B, M, D)`` modality embeddings + ``(B, M)`` mask -> fused vector."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.utils.registry import Registry


@dataclass
class FusionOutput:
    """``fused`` is ``(B, output_dim)``; ``weights`` ``(B, M)`` where the operator has them."""

    fused: torch.Tensor
    weights: torch.Tensor | None = None


class FusionOperator(nn.Module):
    """Base class of fusion operators; any number of modalities ``M >= 1``.

    Args:
        n_modalities: M.
        dim: width D of every modality embedding.

    ``forward(z, mask)`` takes ``z`` of shape ``(B, M, D)`` (absent rows hold arbitrary finite
    values) and ``mask`` of shape ``(B, M)`` (True = present). Absent modalities must not
    influence the result. A sample with no modality present gets the operator's value for
    "nothing observed" (its learned bias), never NaN.
    """

    #: The configuration name (``fusion:`` / ``--model``) and where the operator comes from.
    name: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    output_dim: int
    #: Tunable hyperparameters, keys relative to ``fusion.`` (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, n_modalities: int, dim: int) -> None:
        super().__init__()
        self.n_modalities = n_modalities
        self.dim = dim


#: Every fusion operator by name; each class registers itself with ``@FUSIONS.register``.
FUSIONS: Registry[type[FusionOperator]] = Registry("fusion", packages="omnifuse.fusion")


def masked(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``z`` with the embeddings of absent modalities set to zero."""
    return torch.where(mask.unsqueeze(-1), z, torch.zeros((), dtype=z.dtype, device=z.device))


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over present entries only; rows with nothing present give all zeros."""
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=dim)
    return torch.nan_to_num(weights, nan=0.0)
