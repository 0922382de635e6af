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
        x = full["inputs"][name][rows]
        std = context.scaler.std.get(name)
        # raw training std: the scaler stores 1 for constant features, so recover it from the
        # standardised rows (a constant feature has standardised std 0)
        raw_std = (
            None if std is None else x.reshape(len(x), -1).float().std(dim=0, unbiased=False) * torch.as_tensor(std)
        )
        encoder.fit_columns(raw_std, x, full["y"][rows], ds.task)
        names = ds.specs[name].feature_names
        kept[name] = [names[int(c)] for c in encoder.columns] if names else [str(int(c)) for c in encoder.columns]
    return kept
