"""Contrastive alignment (AL, Whitlow et al. 2025 section 3.4): InfoNCE between modality embeddings.

For a pair of modalities (m, n) and the N epochs where both are present, the embedding of
epoch i in m is scored against every epoch j in n by cosine similarity / tau; epoch i of n
is the positive, the other epochs of the batch the negatives. Following CLIP ([54], which the
paper cites) the embeddings are L2-normalised and the loss is symmetric (m -> n and
n -> m averaged). The paper's formula is written as a sum of log-probabilities; we minimise
its negative mean over epochs, so the value does not grow with the batch size. Pairs are
averaged; the weight lambda_A is applied by the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def info_nce(a: torch.Tensor, b: torch.Tensor, tau: float) -> torch.Tensor:
    """Symmetric InfoNCE of paired rows ``a``, ``b`` ``(N, d)`` (row i of a goes with row i of b)."""
    logits = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).t() / tau
    target = torch.arange(len(a), device=a.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def alignment_loss(embeddings: torch.Tensor, mask: torch.Tensor, tau: float) -> torch.Tensor | None:
    """Mean InfoNCE over modality pairs, each on the epochs where both are present.

    ``embeddings`` ``(N, M, d)``, ``mask`` ``(N, M)``. Pairs present together in fewer than
    two epochs have no negative and are skipped; ``None`` when no pair is left.
    """
    M = embeddings.shape[1]
    terms = []
    for m in range(M):
        for n in range(m + 1, M):
            both = mask[:, m] & mask[:, n]
            if int(both.sum()) >= 2:
                terms.append(info_nce(embeddings[both, m], embeddings[both, n], tau))
    return torch.stack(terms).mean() if terms else None
