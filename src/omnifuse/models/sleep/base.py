"""What the sleep-staging models of MedFuseSleep (Whitlow et al. 2025) share: options, the sequence contract, MS and AL.

Sequence contract: a batch of ``B`` rows is ``B / L`` blocks of ``L = sequence_length``
consecutive epochs of one recording (see :mod:`omnifuse.training.sequences`); the model
returns one prediction per row, in the same order. Every modality is a ``signal`` whose
sample is one epoch's log-magnitude STFT ``(T frames, F bins)`` (paper: 29 x 128).

Modality supervision (MS) is trained by the training module: with ``model.ms`` the model
returns ``modality_logits`` and the module adds ``config.unimodal_weight`` x the mean CE of
the heads over the epochs where each modality is present (``unimodal_weight`` is 1 by
default; the paper sums over modalities, i.e. ``unimodal_weight = M`` reproduces it exactly).
Without ``model.ms`` the model has no modality heads, so no MS loss.

The config is a :class:`~omnifuse.models.sleep.options.SleepConfig`: the transformer sizes
come from ``config.model`` (:class:`~omnifuse.models.sleep.options.SleepOptions`); there is
no ``embed_dim``, ``dropout`` or ``head_hidden``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import ModelConfig
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.models.sleep.alignment import alignment_loss
from omnifuse.models.sleep.options import Architecture, SleepConfig, SleepOptions

PAPER = "MedFuseSleep (Whitlow et al. 2025)"


class SleepSequenceModel(MultimodalModel, ABC):
    """Base of the sleep models: validated options, blocks of L epochs, MS heads, AL loss.

    Subclasses set ``defaults`` (their ``model.ms``/``model.al``) and implement :meth:`represent`.
    """

    kind = "model"
    paper = PAPER
    tasks = ("multiclass",)
    defaults: ClassVar[dict[str, Any]] = {}
    config_class: ClassVar[type[ModelConfig]] = SleepConfig
    config: SleepConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: SleepConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        config = self.config
        name = getattr(self, "name", type(self).__name__)
        self.options: SleepOptions = config.model
        self.arch: Architecture = self.options.architecture()
        self.sequence_length: int = self.options.sequence_length
        for m in self.modalities:
            spec = self.specs[m]
            if spec.kind != "signal" or len(spec.shape) != 2:
                raise ConfigError(
                    f"{name}: modality '{m}' must be a signal of STFT frames (shape (frames, bins)), "
                    f"got kind {spec.kind} with shape {spec.shape}"
                )
        if self.options.ms and config.unimodal_weight <= 0:
            raise ConfigError(
                f"{name}: model.ms=true needs unimodal_weight > 0 (the weight of the MS loss); "
                "set unimodal_weight or model.ms=false"
            )
        self.modality_heads = nn.ModuleDict({m: self.make_head() for m in self.modalities}) if self.options.ms else None

    # ------------------------------------------------------------------ helpers
    def make_head(self) -> ClassifierHead:
        """A 2-layer MLP head (paper: dropout 0.3) from ``d_model`` to the classes."""
        return ClassifierHead(self.arch.d_model, self.n_classes, self.arch.d_model, self.arch.head_dropout)

    def n_bins(self, modality: str) -> int:
        return self.specs[modality].shape[-1]

    def check_blocks(self, mask: torch.Tensor) -> None:
        """Raise ``ValueError`` unless the batch is whole blocks of ``sequence_length`` rows."""
        if mask.shape[0] % self.sequence_length:
            raise ValueError(
                f"{self.name}: batch of {mask.shape[0]} rows is not a multiple of sequence_length "
                f"{self.sequence_length} (rows must come in blocks of consecutive epochs)"
            )

    @abstractmethod
    def represent(
        self, inputs: Mapping[str, Any], mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        """Per-epoch logits ``(B, C)``, per-modality embeddings ``(B, d)`` and weights ``(B, M)`` or None."""

    # ------------------------------------------------------------------ contract
    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        self.check_blocks(mask)
        logits, embeddings, weights = self.represent(inputs, mask)
        modality_logits = (
            {m: self.modality_heads[m](embeddings[m]) for m in self.modalities}
            if self.modality_heads is not None
            else {}
        )
        losses: dict[str, torch.Tensor] = {}
        if self.training and self.options.al and embeddings:
            stacked = torch.stack([embeddings[m] for m in self.modalities], dim=1)
            align = alignment_loss(stacked, mask, self.options.tau)
            if align is not None:
                losses["align"] = self.options.lambda_align * align
        return ModelOutput(logits, modality_logits, weights, losses, embeddings)

    @property
    def needs_modality_embeddings(self) -> bool:
        """True when MS or AL uses per-modality embeddings."""
        return self.options.ms or self.options.al
