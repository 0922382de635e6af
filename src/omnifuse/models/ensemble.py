"""Seed ensembles: K trained members answering as one model.

The members' probabilities are averaged (not their logits), and the spread of the members'
probabilities is reported beside the prediction as an uncertainty. The ensemble honours the
model contract, so metrics, reports, bundles and the server treat it like any other model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from omnifuse.models.config import ModelConfig
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import ModelEntry
from omnifuse.tasks import probabilities

_EPS = 1e-7


class EnsembleModel(nn.Module):
    """Averages the probabilities of ``members`` (all built for the same modalities and task).

    ``forward`` returns logits whose probabilities are the members' mean (log-probabilities
    for softmax tasks, logits of the mean for multilabel tasks), the mean of the members'
    unimodal probabilities and weights, the first member's embeddings, and ``spread``: the
    standard deviation over members of each class probability.
    """

    def __init__(self, members: Sequence[nn.Module], task: str) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two members")
        self.members = nn.ModuleList(members)
        self.task = task
        first = members[0]
        self.modalities: tuple[str, ...] = tuple(first.modalities)  # type: ignore[arg-type]
        length = getattr(first, "sequence_length", None)
        if length:
            self.sequence_length = length

    @property
    def imputes_absent(self) -> bool:
        return bool(getattr(self.members[0], "imputes_absent", False))

    def get_config(self) -> ModelConfig:
        """The members' model config (they share it; they differ in their seeds only)."""
        return self.members[0].get_config()  # type: ignore[operator]

    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        outputs = [member(inputs, mask) for member in self.members]
        probs = torch.stack([probabilities(o.logits, self.task) for o in outputs])
        modality_logits = {}
        for name in outputs[0].modality_logits:
            per_member = torch.stack([probabilities(o.modality_logits[name], self.task) for o in outputs])
            modality_logits[name] = self._logits(per_member.mean(dim=0))
        weights = None
        if all(o.weights is not None for o in outputs):
            weights = torch.stack([o.weights for o in outputs]).mean(dim=0)  # type: ignore[misc]
        # embeddings of different members live in different spaces: report the first member's
        # (reports compare original and imputed embeddings of one model)
        return ModelOutput(
            self._logits(probs.mean(dim=0)),
            modality_logits,
            weights,
            {},
            outputs[0].embeddings,
            spread=probs.std(dim=0, unbiased=False),
        )

    def _logits(self, probs: torch.Tensor) -> torch.Tensor:
        """Logits whose probabilities (under this task's link) are ``probs``."""
        if self.task == "survival":
            if probs.shape[-1] == 1:  # Cox head: the mean log-risk
                return probs
            # logistic hazard: the hazards of the mean survival curve, h_j = 1 - S_j / S_(j-1)
            curve = probs.clamp(min=_EPS)
            before = torch.cat([torch.ones_like(curve[..., :1]), curve[..., :-1]], dim=-1)
            hazard = (1 - curve / before).clamp(_EPS, 1 - _EPS)
            return torch.log(hazard) - torch.log1p(-hazard)
        probs = probs.clamp(_EPS, 1 - _EPS)
        if self.task == "multilabel":
            return torch.log(probs) - torch.log1p(-probs)
        return torch.log(probs)


def build_model(entry: ModelEntry, schema: Any, config: ModelConfig, members: int = 1) -> Any:
    """``entry``'s model alone (no training hooks) for ``schema`` under its model ``config``,
    rebuilt through ``from_config``; with ``members`` K > 1 a neural model becomes an
    untrained :class:`EnsembleModel` of K members (for loading a bundle: the members' weights
    come from the file). Baselines have no members."""
    model = _model_only(entry, schema, config)
    if members > 1 and isinstance(model, nn.Module):
        return EnsembleModel([model] + [_model_only(entry, schema, config) for _ in range(members - 1)], schema.task)
    return model


def _model_only(entry: ModelEntry, schema: Any, config: ModelConfig) -> Any:
    if entry.model_class is not None:
        return entry.model_class.from_config(schema, config)
    built = entry.build(schema, config)
    return built[0] if isinstance(built, tuple) else built
