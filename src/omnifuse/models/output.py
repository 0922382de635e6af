"""What every model's forward returns (the model contract)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class ModelOutput:
    """Output of ``model(inputs, mask)``.

    Attributes:
        logits: ``(B, n_classes)`` prediction (for binary tasks 2 logits, softmax-ed).
        modality_logits: per modality ``(B, n_classes)``, where the model has unimodal heads.
        weights: ``(B, M)`` per-sample modality weights (modalities in sorted order) where the
            model has them (attention, gates, omega); absent modalities get weight 0.
        losses: auxiliary loss terms, already weighted; the training module adds the task
            loss and sums everything.
        embeddings: per modality ``(B, D)`` embeddings, for alignment losses and reports.
        spread: ``(B, n_classes)`` standard deviation of the class probabilities over the
            members of an ensemble (None for a single model).
    """

    logits: torch.Tensor
    modality_logits: dict[str, torch.Tensor] = field(default_factory=dict)
    weights: torch.Tensor | None = None
    losses: dict[str, torch.Tensor] = field(default_factory=dict)
    embeddings: dict[str, torch.Tensor] = field(default_factory=dict)
    spread: torch.Tensor | None = None
