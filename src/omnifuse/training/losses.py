"""The training module's extra loss: the task loss of every unimodal head.

The task losses themselves live in :mod:`omnifuse.tasks`.
"""

from __future__ import annotations

import torch

from omnifuse.tasks import task_loss


def unimodal_loss(
    modality_logits: dict[str, torch.Tensor],
    y: torch.Tensor,
    mask: torch.Tensor,
    modalities: tuple[str, ...],
    task: str,
) -> torch.Tensor:
    """Mean over modalities of each unimodal head's loss on the samples that have it."""
    terms = []
    for j, name in enumerate(modalities):
        present = mask[:, j]
        if name in modality_logits and present.any():
            terms.append(task_loss(modality_logits[name][present], y[present], task))
    if not terms:
        return mask.new_zeros((), dtype=torch.float32)
    return torch.stack(terms).mean()
