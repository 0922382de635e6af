"""Task losses and probabilities, following the task type."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def task_loss(logits: torch.Tensor, y: torch.Tensor, task: str, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy (binary, multiclass: softmax over classes) or BCE (multilabel)."""
    if task == "multilabel":
        loss = F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none").mean(dim=1)
    else:
        loss = F.cross_entropy(logits, y.long(), reduction="none")
    if reduction == "none":
        return loss
    return loss.mean() if loss.numel() else logits.sum() * 0.0


def probabilities(logits: torch.Tensor, task: str) -> torch.Tensor:
    """Class probabilities (independent per label for multilabel tasks)."""
    return torch.sigmoid(logits) if task == "multilabel" else torch.softmax(logits, dim=-1)


def unimodal_loss(modality_logits: dict[str, torch.Tensor], y: torch.Tensor, mask: torch.Tensor,
                  modalities: tuple[str, ...], task: str) -> torch.Tensor:
    """Mean over modalities of each unimodal head's loss on the samples that have it."""
    terms = []
    for j, name in enumerate(modalities):
        present = mask[:, j]
        if name in modality_logits and present.any():
            terms.append(task_loss(modality_logits[name][present], y[present], task))
    if not terms:
        return mask.new_zeros((), dtype=torch.float32)
    return torch.stack(terms).mean()
