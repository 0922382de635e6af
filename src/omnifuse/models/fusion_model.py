"""Intermediate fusion: encoders -> a fusion operator -> a classifier head.

Every operator of the fusion registry is also a registered model of the same name (derived
from :data:`omnifuse.fusion.base.FUSIONS`, so an operator registered later is one too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import FusionConfig, HybridConfig, ModelConfig, check_fusion_options
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import MODELS, ModelEntry, first_line, prefixed, registered


class FusionModel(MultimodalModel):
    """Modality encoders, one fusion operator and a joint head (optionally unimodal heads).

    The operator is the config's ``fusion_name`` (its class for a fusion model, ``model.fusion``
    for hybrid, ``strategy.base`` for a strategy), with the options of ``config.fusion``.
    """

    config_class: ClassVar[type[ModelConfig]] = FusionConfig
    config: FusionConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: FusionConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        config = self.config
        self.fusion_name = config.fusion_name
        dim = config.embed_dim
        self.encoders = self.build_encoders(dim)
        self.fusion = build_fusion(self.fusion_name, len(self.modalities), dim, config.fusion)
        self.head = ClassifierHead(self.fusion.output_dim, n_classes, config.head_hidden, config.dropout)
        self.unimodal_heads = (
            nn.ModuleDict({m: nn.Linear(dim, n_classes) for m in self.modalities}) if config.unimodal_heads else None
        )
        self.combine_unimodal = config.model.combine_unimodal

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
    kwargs = check_fusion_options(name, options)
    try:
        return cls(n_modalities, dim, **kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"fusion '{name}': invalid options {dict(options)} ({exc})") from exc


def _mean_with_present(
    joint: torch.Tensor, unimodal: dict[str, torch.Tensor], mask: torch.Tensor, modalities: tuple[str, ...]
) -> torch.Tensor:
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
    #: The intermediate part uses ``config.model.fusion`` (default concat).
    config_class = HybridConfig


def _operator_entry(op_name: str, op_cls: type[FusionOperator]) -> ModelEntry:
    """The model entry of fusion operator ``op_name``: a :class:`FusionModel` using it."""
    return ModelEntry(
        name=op_name,
        kind="fusion",
        paper=op_cls.paper,
        description=first_line(op_cls.__doc__),
        build=FusionModel.from_config,
        space=prefixed(op_cls.search_space, "fusion"),
        config_class=FusionConfig.for_operator(op_name),
        model_class=FusionModel,
    )


def _register_operators() -> None:
    MODELS.derive(FUSIONS, _operator_entry)


_register_operators()
