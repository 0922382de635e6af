"""The encoder contract: one module per modality, turning a batch input into ``(B, D)``."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.utils.registry import Registry


class Encoder(nn.Module):
    """Base class of modality encoders.

    Subclasses set ``output_dim`` and implement ``forward(x) -> (B, output_dim)``, where
    ``x`` is the modality's entry of a batch's ``inputs`` (a tensor, or a
    :class:`~omnifuse.data.collate.SeriesBatch`). Rows of absent samples hold placeholders:
    an encoder must return finite values for them and must not let them shape any
    statistic (no BatchNorm over the batch; use LayerNorm). The fusion reads the mask.

    An encoder that ``build_encoder`` may choose registers with ``@ENCODERS.register`` and
    declares ``name`` (the config ``type``), the modality ``kinds`` it serves and the kinds it
    is the default for (``default_for``); the constructor is ``(input_dim, output_dim, **options)``,
    or ``(input_dim, **options)`` when ``keeps_input_size``.
    """

    #: The config ``type`` naming the encoder (``encoders.<kind>.type``).
    name: ClassVar[str] = ""
    #: The modality kinds it can encode.
    kinds: ClassVar[tuple[str, ...]] = ()
    #: The kinds it encodes when the config names no type (one default per kind).
    default_for: ClassVar[tuple[str, ...]] = ()
    #: The output is the input size (no ``output_dim`` argument); chosen when ``output_dim=None``.
    keeps_input_size: ClassVar[bool] = False
    #: Place in listings of a kind's types (lower first, then by name; the default leads).
    priority: ClassVar[int] = 0
    output_dim: int
    #: Tunable options, keys relative to ``encoders.<kind>.`` (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    def auxiliary_losses(self, x: Any, present: torch.Tensor) -> dict[str, torch.Tensor]:
        """Extra training losses computed on present rows only (e.g. reconstruction)."""
        return {}


#: Every encoder ``build_encoder`` can choose, by config ``type``.
ENCODERS: Registry[type[Encoder]] = Registry(
    "encoder type",
    packages="omnifuse.encoders",
    order=lambda cls: cls.priority,
    # the pretrained backbones are built by omnifuse.media, not chosen by build_encoder, and
    # importing them loads omnifuse.media (~0.5 s)
    skip=("omnifuse.encoders.pretrained",),
)
