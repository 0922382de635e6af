"""Flatten a batch's modalities into one feature vector (early fusion, scikit-learn baselines).

Vector modalities are taken as they are (absent rows and unobserved values hold 0, the
training mean after standardisation: mean imputation); a time series is summarised per
channel by the mean, last, minimum and maximum of its observed values and the share of
steps observed. The availability mask is appended as M indicator features so absence stays
visible to the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from omnifuse.data.collate import SeriesBatch
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError

SERIES_STATS = ("mean", "last", "min", "max", "observed")


def feature_width(spec: ModalitySpec) -> int:
    """Number of flat features one modality contributes."""
    if spec.is_sequence:
        return len(SERIES_STATS) * spec.n_features
    width = 1
    for s in spec.shape or (spec.n_features,):
        width *= s
    return width


def flat_features(inputs: Mapping[str, Any], mask: torch.Tensor, modalities: tuple[str, ...]) -> torch.Tensor:
    """``(B, sum of widths + M)`` features of a batch, modalities in the given order."""
    parts = []
    for j, name in enumerate(modalities):
        x = inputs[name]
        if not isinstance(x, (SeriesBatch, torch.Tensor)):
            raise ConfigError(
                f"modality '{name}' holds files or texts, not numbers: embed it first "
                "(omnifuse extract) and use the embeddings as a modality of kind 'embedding'"
            )
        feats = summarise_series(x) if isinstance(x, SeriesBatch) else x.reshape(x.shape[0], -1).float()
        parts.append(feats * mask[:, j : j + 1].to(feats.dtype))
    parts.append(mask.float())
    return torch.cat(parts, dim=1)


def summarise_series(series: SeriesBatch) -> torch.Tensor:
    """Per-channel mean, last, min, max of observed values and observed share: ``(B, 5C)``."""
    obs = series.observed
    obs_f = obs.float()
    count = obs_f.sum(dim=1)
    has = count > 0
    mean = (series.values * obs_f).sum(dim=1) / count.clamp(min=1)
    big = torch.finfo(series.values.dtype).max
    vmin = torch.where(obs, series.values, torch.full_like(series.values, big)).amin(dim=1)
    vmax = torch.where(obs, series.values, torch.full_like(series.values, -big)).amax(dim=1)
    steps = torch.arange(obs.shape[1], device=obs.device).view(1, -1, 1).expand_as(obs)
    last_idx = torch.where(obs, steps, torch.full_like(steps, -1)).amax(dim=1).clamp(min=0)
    last = series.values.gather(1, last_idx.unsqueeze(1)).squeeze(1)
    n_steps = series.step_mask.float().sum(dim=1, keepdim=True).clamp(min=1)
    zero = torch.zeros_like(mean)
    stats = [
        mean,
        torch.where(has, last, zero),
        torch.where(has, vmin, zero),
        torch.where(has, vmax, zero),
        count / n_steps,
    ]
    return torch.cat(stats, dim=1)
