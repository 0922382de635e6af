"""Availability patterns: all combinations of modalities, and artificial drops for training.

Seed 000 table 1 lists, for three modalities, every (available, missing) pair; the
generalisation to any M is "every non-empty proper subset is a possible set of available
modalities".
"""

from __future__ import annotations

import itertools

import torch


def all_combinations(n_modalities: int) -> torch.Tensor:
    """Every non-empty subset of M modalities as a ``(2^M - 1, M)`` bool tensor (by size, then order)."""
    rows = [
        [j in combo for j in range(n_modalities)]
        for size in range(1, n_modalities + 1)
        for combo in itertools.combinations(range(n_modalities), size)
    ]
    return torch.tensor(rows, dtype=torch.bool)


def proper_subsets(n_modalities: int) -> torch.Tensor:
    """Every non-empty proper subset (the "available" side of table 1): ``(2^M - 2, M)``."""
    return all_combinations(n_modalities)[:-1]


def artificial_availability(mask: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """For each sample with at least two present modalities, a random non-empty proper subset
    of them (uniform over such subsets); other samples keep their mask.

    The dropped modalities (``mask & ~result``) have a ground-truth embedding, so imputing
    them can be supervised; natural absences are never targets.
    """
    n_present = mask.sum(dim=1)
    result = mask.clone()
    eligible = n_present >= 2
    if not eligible.any():
        return result
    sub = mask[eligible]
    draw = torch.zeros_like(sub)
    todo = torch.ones(sub.shape[0], dtype=torch.bool, device=mask.device)
    while todo.any():  # rejection sampling: keep draws that are non-empty and proper
        bits = torch.rand(sub.shape, generator=generator, device=mask.device) < 0.5
        candidate = bits & sub
        kept = candidate.sum(dim=1)
        ok = todo & (kept >= 1) & (kept < sub.sum(dim=1))
        draw[ok] = candidate[ok]
        todo &= ~ok
    result[eligible] = draw
    return result
