"""Feature standardisation fitted on training samples only, stored for reuse at inference."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import DataError

#: Kinds whose values are standardised; images, texts and precomputed embeddings are not.
SCALED_KINDS = frozenset({"tabular", "omics", "timeseries", "signal"})


@dataclass
class Standardizer:
    """Per-feature (per-channel for sequences) mean and std of the training data.

    Statistics use only observed values of samples that have the modality, so absent
    samples and unobserved values never leak into them. A constant feature gets std 1; a
    feature never observed in training has mean NaN, so ``transform`` makes its values
    unobserved (the model never saw it and cannot use it in raw units).
    """

    mean: dict[str, np.ndarray] = field(default_factory=dict)
    std: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def fit(cls, ds: MultimodalDataset, index: np.ndarray | None = None) -> "Standardizer":
        """Fit on the samples ``index`` of ``ds`` (all samples if None)."""
        train = ds if index is None else ds.subset(index)
        scaler = cls()
        for j, name in enumerate(train.modalities):
            if train.specs[name].kind not in SCALED_KINDS:
                continue
            values = _observed_matrix(train.data[name], train.mask[:, j])
            if values is None:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN feature -> NaN
                mean = np.nanmean(values, axis=0)
                std = np.nanstd(values, axis=0)
            never = np.isnan(mean)  # never observed in training: no statistics to scale with
            mean = np.where(never, np.nan, mean)
            std = np.where(np.isnan(std) | (std < 1e-8), 1.0, std)
            scaler.mean[name] = mean.astype(np.float32)
            scaler.std[name] = std.astype(np.float32)
        return scaler

    def transform(self, ds: MultimodalDataset) -> MultimodalDataset:
        """A new dataset with standardised values (the input is not modified)."""
        data = dict(ds.data)
        for name, mean in self.mean.items():
            if name not in ds.data:
                continue
            container, std = ds.data[name], self.std[name]
            if isinstance(container, IrregularSeries):
                self._check_width(name, container.values.shape[-1], mean)
                data[name] = IrregularSeries((container.values - mean) / std, container.times, container.lengths)
            elif isinstance(container, np.ndarray):
                self._check_width(name, container.shape[-1], mean)
                data[name] = ((container - mean) / std).astype(np.float32)
        return ds.replace(data=data)

    @staticmethod
    def _check_width(name: str, width: int, mean: np.ndarray) -> None:
        if width != len(mean):
            raise DataError(f"modality '{name}' has {width} features but the scaler was fitted on {len(mean)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (for model bundles)."""
        return {name: {"mean": _jsonable(self.mean[name]), "std": _jsonable(self.std[name])} for name in self.mean}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "Standardizer":
        return cls(
            mean={
                k: np.array([np.nan if x is None else x for x in v["mean"]], dtype=np.float32) for k, v in state.items()
            },
            std={k: np.asarray(v["std"], dtype=np.float32) for k, v in state.items()},
        )


def _observed_matrix(container: object, present: np.ndarray) -> np.ndarray | None:
    """Rows of present samples as a 2-D (observations x features) array with NaN gaps."""
    if not present.any():
        return None
    if isinstance(container, IrregularSeries):
        values = container.values[present]
        return values.reshape(-1, values.shape[-1])
    if isinstance(container, np.ndarray) and container.dtype.kind == "f":
        values = container[present]
        return values.reshape(-1, values.shape[-1]) if values.ndim > 2 else values
    return None


def _jsonable(values: np.ndarray) -> list[float | None]:
    """Floats with NaN as None (valid JSON)."""
    return [None if np.isnan(x) else float(x) for x in values]
