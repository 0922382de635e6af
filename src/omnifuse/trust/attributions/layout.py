"""The columns of the scikit-learn baselines' flat features, named and in the data's units.

:func:`~omnifuse.models.features.flat_features` concatenates, per modality in sorted order,
its vector features (or per time-series channel the mean, last, min, max of the observed
values and the observed share), then one availability indicator per modality.
"""

from __future__ import annotations

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.scaling import Standardizer
from omnifuse.models.features import SERIES_STATS, feature_width
from omnifuse.trust.attributions.common import names

#: Summaries of a channel that are in the channel's units (the observed share is not).
UNIT_STATS = ("mean", "last", "min", "max")


def flat_feature_layout(dataset: MultimodalDataset) -> list[tuple[str | None, str]]:
    """``(modality, feature name)`` of every column of
    :func:`~omnifuse.models.features.flat_features`, in order: a vector feature by its name, a
    time-series summary as ``"<channel> (<statistic>)"``; the trailing availability indicators
    have modality None and name ``"available:<modality>"``."""
    out: list[tuple[str | None, str]] = []
    for name in dataset.modalities:
        spec = dataset.specs[name]
        if spec.is_sequence:
            channels = names(spec.feature_names, spec.n_features, name)
            out += [(name, f"{c} ({stat})") for stat in SERIES_STATS for c in channels]
        else:
            out += [(name, n) for n in names(spec.feature_names, feature_width(spec), name)]
    return out + [(None, f"available:{name}") for name in dataset.modalities]


def flat_values(dataset: MultimodalDataset, flat: np.ndarray, rows: np.ndarray, scaler: Standardizer) -> np.ndarray:
    """``(len(rows), F)`` the flat features of dataset positions ``rows`` in the data's units:
    vector features as measured (NaN: not measured, the model saw the training mean), series
    summaries unstandardised (NaN: the channel was never observed), observed shares and
    availability indicators as they are. ``flat`` is the standardised flat matrix of every
    sample of ``dataset``."""
    out = flat[rows].astype(np.float64)
    start = 0
    for j, name in enumerate(dataset.modalities):
        spec = dataset.specs[name]
        width = feature_width(spec)
        block = out[:, start : start + width]
        if spec.is_sequence:
            c = spec.n_features
            observed = block[:, SERIES_STATS.index("observed") * c : (SERIES_STATS.index("observed") + 1) * c] > 0
            mean, std = _stats(scaler, name, c)
            for k, stat in enumerate(SERIES_STATS):
                if stat in UNIT_STATS:
                    part = block[:, k * c : (k + 1) * c]
                    block[:, k * c : (k + 1) * c] = np.where(observed, part * std + mean, np.nan)
        else:
            data = dataset.data[name]
            if isinstance(data, np.ndarray) and data.dtype.kind == "f":
                block[:] = np.asarray(data[rows], dtype=np.float64).reshape(len(rows), -1)
        block[~dataset.mask[rows, j]] = np.nan  # absent: no values
        start += width
    return out


def _stats(scaler: Standardizer, name: str, width: int) -> tuple[np.ndarray, np.ndarray]:
    if name in scaler.mean:
        return np.asarray(scaler.mean[name], dtype=np.float64), np.asarray(scaler.std[name], dtype=np.float64)
    return np.zeros(width), np.ones(width)
