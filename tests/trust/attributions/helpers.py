"""Shared helpers of the attribution tests."""

from __future__ import annotations

import pytest
import torch

from omnifuse.models.registry import get_model
from omnifuse.training.config import resolve_config
from omnifuse.training.fit import FittedModel, SplitContext

TINY = {"embed_dim": 8, "head_hidden": 8, "batch_size": 64}
#: GRU-D (the default series encoder) steps through time in Python: an LSTM keeps tests fast
FAST_SERIES = {**TINY, "encoders": {"timeseries": {"type": "lstm", "hidden": 8}}}


def untrained(name: str, context: SplitContext, **options) -> FittedModel:
    """Model ``name`` at a fixed random initialisation (attributions need no training to be complete)."""
    entry = get_model(name)
    cfg = resolve_config(entry, options or TINY)
    torch.manual_seed(0)
    built = entry.build(context.dataset, cfg.model)
    model = built[0] if isinstance(built, tuple) else built  # (model, training hooks) for some
    return FittedModel(name, model, cfg, context, 0.0)


def check_answer(answer, ds, row) -> None:
    """Absent modalities are listed and have no entry; shares of the entries sum to 1."""
    present = [m for m, p in zip(ds.modalities, ds.mask[row]) if p]
    assert answer.absent == [m for m in ds.modalities if m not in present]
    assert list(answer.modalities) == [m for m in present if m in answer.modalities]
    assert not set(answer.absent) & set(answer.modalities)  # absent: omitted, never a zero entry
    shares = [m.share for m in answer.modalities.values()]
    assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0.0


def is_complete(answer, rel: float = 1e-3) -> bool:
    """The attributions sum to the score difference within ``rel`` of it (at least of 1)."""
    moved = answer.score - answer.baseline_score
    total = sum(m.total for m in answer.modalities.values()) + answer.availability_effect
    return abs(moved - total - answer.delta) < 1e-9 + 1e-9 * abs(moved) and abs(answer.delta) <= rel * max(
        1.0, abs(moved)
    )
