"""Turn samples into the batch format every model consumes.

A batch is ``{"inputs": {modality: tensor-like}, "mask": bool (B, M), "y": tensor,
"index": int64 (B,)}`` with modalities in sorted order. Conventions:

* Rows of absent samples hold ``fill_value`` (0) and are flagged False in ``mask``; models
  must read ``mask``, never the values, to know what is absent.
* Unobserved values inside a present row (NaN) also become ``fill_value``: after
  standardisation fitted on training data, 0 is the training mean.
* Irregular time series become a :class:`SeriesBatch` carrying the observation mask,
  so encoders can tell measured zeros from unobserved steps.
* Texts stay a list of strings ("" when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from omnifuse.data.arrays import IrregularSeries, LazyFiles
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import DataError


@dataclass
class SeriesBatch:
    """A batch of irregular time series as tensors.

    Attributes:
        values: ``(B, T, C)`` float32, unobserved entries set to the fill value.
        observed: ``(B, T, C)`` bool, True where a value was measured.
        times: ``(B, T)`` float32 time stamps (0 on padding steps).
        step_mask: ``(B, T)`` bool, True on real steps.
    """

    values: torch.Tensor
    observed: torch.Tensor
    times: torch.Tensor
    step_mask: torch.Tensor

    def to(self, device: torch.device | str) -> "SeriesBatch":
        return SeriesBatch(*(t.to(device) for t in (self.values, self.observed, self.times, self.step_mask)))

    def __len__(self) -> int:
        return int(self.values.shape[0])


def series_to_batch(series: IrregularSeries, present: np.ndarray, fill_value: float = 0.0) -> SeriesBatch:
    """Convert padded series (NaN = unobserved) into a :class:`SeriesBatch`."""
    observed = series.observed & present[:, None, None]
    values = np.where(observed, series.values, fill_value).astype(np.float32)
    step_mask = series.step_mask & present[:, None]
    times = np.where(step_mask, np.nan_to_num(series.times), 0.0).astype(np.float32)
    return SeriesBatch(
        torch.from_numpy(values),
        torch.from_numpy(observed),
        torch.from_numpy(times),
        torch.from_numpy(step_mask),
    )


def dense_to_tensor(values: np.ndarray, present: np.ndarray, fill_value: float = 0.0) -> torch.Tensor:
    """Dense rows to a float tensor: absent rows and NaN entries become ``fill_value``."""
    out = np.where(np.isnan(values), fill_value, values).astype(np.float32, copy=False)
    out[~present] = fill_value
    return torch.from_numpy(out)


def make_batch(
    dataset: MultimodalDataset, index: Sequence[int] | np.ndarray, fill_value: float = 0.0
) -> dict[str, Any]:
    """The batch of samples ``index``, built with vectorised array indexing (fast path)."""
    idx = np.asarray(index, dtype=np.int64)
    mask = dataset.mask[idx]
    inputs: dict[str, Any] = {}
    for j, name in enumerate(dataset.modalities):
        data, present = dataset.data[name], mask[:, j]
        if isinstance(data, IrregularSeries):
            inputs[name] = series_to_batch(data.take(idx), present, fill_value)
        elif isinstance(data, LazyFiles):
            inputs[name] = _stack_files(data, idx, present, fill_value)
        elif data.dtype.kind in "US":
            inputs[name] = [str(t) if p else "" for t, p in zip(data[idx], present)]
        else:
            inputs[name] = dense_to_tensor(data[idx], present, fill_value)
    return {
        "inputs": inputs,
        "mask": torch.from_numpy(mask.copy()),
        "y": _targets(dataset, idx),
        "index": torch.from_numpy(idx),
    }


class BatchCollator:
    """``collate_fn`` for a torch ``DataLoader`` over sample indices of one dataset.

    Use with a sampler yielding indices: ``DataLoader(range(len(ds)), batch_size=32,
    collate_fn=BatchCollator(ds))``. Building from indices keeps collation vectorised.
    """

    def __init__(self, dataset: MultimodalDataset, fill_value: float = 0.0) -> None:
        self.dataset = dataset
        self.fill_value = fill_value

    def __call__(self, indices: Sequence[int]) -> dict[str, Any]:
        return make_batch(self.dataset, indices, self.fill_value)


def collate(samples: Sequence[dict[str, Any]], dataset: MultimodalDataset) -> dict[str, Any]:
    """Collate samples produced by ``dataset[i]`` into a batch (same format as make_batch)."""
    return make_batch(dataset, [s["index"] for s in samples])


def _targets(dataset: MultimodalDataset, idx: np.ndarray) -> torch.Tensor:
    y = dataset.labels.y[idx]
    if dataset.task == "survival":  # (event, time) records become float32 (B, 2) columns time, event
        return torch.from_numpy(np.stack([y["time"], y["event"]], axis=1).astype(np.float32))
    if dataset.task == "multilabel":
        return torch.from_numpy(y.astype(np.float32))
    return torch.from_numpy(y.astype(np.int64))


def _stack_files(files: LazyFiles, idx: np.ndarray, present: np.ndarray, fill_value: float) -> torch.Tensor:
    loaded = [files.load(int(i)) if p else None for i, p in zip(idx, present)]
    shapes = {a.shape for a in loaded if a is not None}
    if len(shapes) > 1:
        raise DataError(f"files of one batch differ in shape {sorted(shapes)}; resize them first")
    if not shapes:
        return torch.zeros((len(idx), 0), dtype=torch.float32)
    shape = shapes.pop()
    out = np.full((len(idx), *shape), fill_value, dtype=np.float32)
    for k, arr in enumerate(loaded):
        if arr is not None:
            out[k] = arr
    return torch.from_numpy(out)
