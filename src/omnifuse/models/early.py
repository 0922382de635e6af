"""Early fusion: concatenate the (flattened) inputs, one network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import ModelConfig, NeuralConfig
from omnifuse.models.features import feature_width, flat_features
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import registered


@registered
class EarlyFusionModel(MultimodalModel):
    """Early fusion: one MLP on concatenated inputs plus availability indicators."""

    name = "early"
    kind = "fusion"
    paper = "Raju et al., Multimodal ML in Healthcare review 2025, section 2.2 (early fusion)"
    uses_encoders = False
    #: Sizes only: no encoders, no unimodal heads.
    config_class: ClassVar[type[ModelConfig]] = NeuralConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: NeuralConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        if not isinstance(self.config, NeuralConfig):
            raise TypeError(
                f"{type(self).__name__}: config_class must be a NeuralConfig, got {type(self.config).__name__}"
            )
        config = self.config
        width = sum(feature_width(self.specs[m]) for m in self.modalities) + len(self.modalities)
        hidden = max(config.embed_dim, 2 * config.head_hidden)
        self.body = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Dropout(config.dropout))
        self.head = ClassifierHead(hidden, n_classes, config.head_hidden, config.dropout)

    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        x = flat_features(inputs, mask, self.modalities)
        return ModelOutput(self.head(self.body(x)))
