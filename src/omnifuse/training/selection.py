"""Fit the feature-selection layers of a model on its training samples (never validation or test)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from omnifuse.encoders.selection import SelectedEncoder

if TYPE_CHECKING:
    from omnifuse.training.fit import SplitContext


def fit_selections(model: nn.Module, context: "SplitContext") -> dict[str, list[str]]:
    """Set the kept columns of every :class:`SelectedEncoder` of ``model`` from the training
    samples of ``context`` that have the modality; returns the kept feature names per modality."""
    encoders = getattr(model, "encoders", None)
    if not isinstance(encoders, nn.ModuleDict):
        return {}
    ds = context.dataset
    full = context.store.full
    kept: dict[str, list[str]] = {}
    for j, name in enumerate(ds.modalities):
        encoder = encoders[name] if name in encoders else None
        if not isinstance(encoder, SelectedEncoder):
            continue
        rows = torch.as_tensor(context.train[ds.mask[context.train, j]])
        std = context.scaler.std.get(name)
        encoder.fit_columns(None if std is None else torch.as_tensor(std), full["inputs"][name][rows],
                            full["y"][rows], ds.task)
        names = ds.specs[name].feature_names
        kept[name] = [names[int(c)] for c in encoder.columns] if names else [str(int(c)) for c in encoder.columns]
    return kept
