"""Dynamic Weighted Fuse (DWFuse), Wu et al. 2025 eqs. 9-14: the fusion operator.

``omega^m = [prod_{n != m} (1 - p^n)]^(beta / (M - 1))``: a modality's loss is down-weighted
when the *other* modalities already predict the right class confidently. In training ``p^n``
is the probability head ``g^n`` gives the true class; at inference, where the class is
unknown, its top-class confidence. The training loss weighted by omega (eq. 12) is part of
OmniFuse's objective (:func:`omnifuse.models.omnifuse_objective.dwfuse_encoder_loss`).
"""

from __future__ import annotations

import torch


def omega(p: torch.Tensor, beta: float) -> torch.Tensor:
    """``(B, M)`` weights from ``(B, M)`` per-modality confidences (treated as constants).

    With one modality there is no "other" modality: omega is 1.
    """
    p = p.detach()
    n_modalities = p.shape[1]
    if n_modalities == 1:
        return torch.ones_like(p)
    log_rest = torch.log1p(-p.clamp(max=1.0 - 1e-6))
    others = log_rest.sum(dim=1, keepdim=True) - log_rest  # sum over n != m, in log space
    return torch.exp(others * beta / (n_modalities - 1))


def inference_omega(
    modality_logits: list[torch.Tensor], beta: float, present: torch.Tensor | None = None
) -> torch.Tensor:
    """``(B, M)`` omega from each head's top-class confidence (the class is unknown).

    With ``present``, absent modalities neither suppress the others nor get a weight (0).
    """
    p = torch.stack([torch.softmax(lg, dim=-1).amax(dim=-1) for lg in modality_logits], dim=1)
    if present is None:
        return omega(p, beta)
    return omega(p * present.to(p.dtype), beta) * present.to(p.dtype)


def blend(joint_logits: torch.Tensor, modality_logits: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    """Log of ``(softmax(o) + sum_m w_m softmax(g^m)) / (1 + sum_m w_m)``: logits of the blend."""
    probs = torch.softmax(joint_logits, dim=-1)
    for m, logits in enumerate(modality_logits):
        probs = probs + weights[:, m : m + 1] * torch.softmax(logits, dim=-1)
    probs = probs / (1.0 + weights.sum(dim=1, keepdim=True))
    return torch.log(probs.clamp(min=1e-12))
