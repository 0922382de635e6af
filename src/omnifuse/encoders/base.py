"""The encoder contract: one module per modality, turning a batch input into ``(B, D)``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn


class Encoder(nn.Module):
    """Base class of modality encoders.

    Subclasses set ``output_dim`` and implement ``forward(x) -> (B, output_dim)``, where
    ``x`` is the modality's entry of a batch's ``inputs`` (a tensor, or a
    :class:`~omnifuse.data.collate.SeriesBatch`). Rows of absent samples hold placeholders:
    an encoder must return finite values for them and must not let them shape any
    statistic (no BatchNorm over the batch; use LayerNorm). The fusion reads the mask.
    """

    output_dim: int
    #: Tunable options, keys relative to ``encoders.<kind>.`` (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    def auxiliary_losses(self, x: Any, present: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra training losses computed on present rows only (e.g. reconstruction)."""
        return {}
