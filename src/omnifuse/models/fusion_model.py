"""Intermediate fusion: encoders -> a fusion operator -> a classifier head.

Every operator of the fusion registry is also a registered model of the same name (derived
from :data:`omnifuse.fusion.base.FUSIONS`, so an operator registered later is one too).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import torch
from torch import nn

from omnifuse.utils.options import check_options
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator
from omnifuse.models.base import MultimodalModel
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import MODELS, ModelEntry, first_line, prefixed, registered
from omnifuse.training.config import TrainConfig


class FusionModel(MultimodalModel):
    """Modality encoders, one fusion operator and a joint head (optionally unimodal heads)."""

    def __init__(
        self,
        specs: Mapping[str, ModalitySpec],
        task: str,
        n_classes: int,
        config: TrainConfig,
        fusion: str = "concat",
    ) -> None:
        super().__init__(specs, task, n_classes, config)
        self.fusion_name = fusion
        dim = config.embed_dim
        self.encoders = self.build_encoders(dim)
        self.fusion = build_fusion(fusion, len(self.modalities), dim, config.fusion)
        self.head = ClassifierHead(self.fusion.output_dim, n_classes, config.head_hidden, config.dropout)
        self.unimodal_heads = (
            nn.ModuleDict({m: nn.Linear(dim, n_classes) for m in self.modalities}) if config.unimodal_heads else None
        )
        self.combine_unimodal = bool(config.model.get("combine_unimodal", False))

    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        embeddings, losses = self.encode(inputs, mask)
        stacked = torch.stack([embeddings[m] for m in self.modalities], dim=1)
        fused = self.fusion(stacked, mask)
        logits = self.head(fused.fused)
        modality_logits = {}
        if self.unimodal_heads is not None:
            modality_logits = {m: self.unimodal_heads[m](embeddings[m]) for m in self.modalities}
            if self.combine_unimodal:
                logits = _mean_with_present(logits, modality_logits, mask, self.modalities)
        return ModelOutput(logits, modality_logits, fused.weights, losses, embeddings)


def build_fusion(name: str, n_modalities: int, dim: int, options: Mapping[str, Any]) -> FusionOperator:
    """Instantiate fusion operator ``name``; an unknown name or option lists the valid ones."""
    cls = FUSIONS.get(name)
    kwargs = check_options(cls, options, f"fusion '{name}'", skip=("n_modalities", "dim"))
    try:
        return cls(n_modalities, dim, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"fusion '{name}': invalid options {dict(options)} ({exc})") from exc


def _mean_with_present(joint: torch.Tensor, unimodal: dict[str, torch.Tensor], mask: torch.Tensor,
                       modalities: tuple[str, ...]) -> torch.Tensor:
    """Average of the joint logits and the logits of present unimodal heads (late part)."""
    stacked = torch.stack([unimodal[m] for m in modalities], dim=1)
    weights = mask.unsqueeze(-1).to(stacked.dtype)
    total = joint + (stacked * weights).sum(dim=1)
    return total / (1.0 + weights.sum(dim=1))


@registered
class HybridModel(FusionModel):
    """Intermediate fusion plus late unimodal heads whose logits are averaged in."""

    name = "hybrid"
    kind = "fusion"
    paper = "Raju et al., Multimodal ML in Healthcare review 2025, section 2.2 (hybrid fusion)"
    defaults = {"unimodal_heads": True, "unimodal_weight": 0.5, "model": {"combine_unimodal": True}}
    search_space = {"unimodal_weight": {"type": "float", "low": 0.05, "high": 2.0, "log": True}}
    fusion_key = ("model.fusion", "concat")

    @classmethod
    def from_dataset(cls, dataset: MultimodalDataset, config: TrainConfig, **kwargs: Any) -> "HybridModel":
        """The intermediate part uses ``config.model["fusion"]`` (default concat)."""
        fusion = str(config.model.get("fusion", "concat"))
        return cls(dataset.specs, dataset.task, len(dataset.class_names), config, fusion=fusion)


def _operator_entry(op_name: str, op_cls: type[FusionOperator]) -> ModelEntry:
    """The model entry of fusion operator ``op_name``: a :class:`FusionModel` using it."""
    return ModelEntry(
        name=op_name,
        kind="fusion",
        paper=op_cls.paper,
        description=first_line(op_cls.__doc__),
        build=partial(_build_fusion, fusion=op_name),
        space=prefixed(op_cls.search_space, "fusion"),
    )


def _register_operators() -> None:
    MODELS.derive(FUSIONS, _operator_entry)


def _build_fusion(dataset: MultimodalDataset, config: TrainConfig, fusion: str) -> FusionModel:
    return FusionModel.from_dataset(dataset, config, fusion=fusion)


_register_operators()
