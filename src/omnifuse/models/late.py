"""Late fusion: one unimodal network per modality, predictions combined over present ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.fusion.base import masked_softmax
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import LateConfig, ModelConfig
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import registered


@registered
class LateFusionModel(MultimodalModel):
    """Late fusion: unimodal heads' logits averaged (or learned weights) over present modalities.

    ``model.combine``: "mean" (default) or "learned" (softmax weights learned per modality,
    renormalised over the modalities a sample has). Each head is also trained on its own.
    """

    name = "late"
    kind = "fusion"
    paper = "Raju et al., Multimodal ML in Healthcare review 2025, section 2.2 (late fusion)"
    defaults = {"unimodal_weight": 1.0}
    config_class: ClassVar[type[ModelConfig]] = LateConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: LateConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        if not isinstance(self.config, LateConfig):
            raise TypeError(
                f"{type(self).__name__}: config_class must be a LateConfig, got {type(self.config).__name__}"
            )
        config = self.config
        self.combine = config.model.combine
        self.encoders = self.build_encoders(config.embed_dim)
        self.heads = nn.ModuleDict(
            {
                m: ClassifierHead(config.embed_dim, n_classes, config.head_hidden, config.dropout)
                for m in self.modalities
            }
        )
        self.weight_scores = nn.Parameter(torch.zeros(len(self.modalities)))

    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        embeddings, losses = self.encode(inputs, mask)
        modality_logits = {m: self.heads[m](embeddings[m]) for m in self.modalities}
        stacked = torch.stack([modality_logits[m] for m in self.modalities], dim=1)
        if self.combine == "learned":
            weights = masked_softmax(self.weight_scores.expand(mask.shape[0], -1), mask)
        else:
            weights = mask.float() / mask.float().sum(dim=1, keepdim=True).clamp(min=1.0)
        logits = (stacked * weights.unsqueeze(-1)).sum(dim=1)
        return ModelOutput(logits, modality_logits, weights, losses, embeddings)
