"""Whole folds kept in memory as tensors; mini-batches are index slices of them.

On small cohorts the framework's per-step overhead dominates, so a dataset is standardised
and collated once, and every DataLoader step only slices the prepared tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from omnifuse.data.collate import SeriesBatch, make_batch
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.training.sequences import SequenceBatchSampler


def slice_batch(batch: dict[str, Any], index: torch.Tensor) -> dict[str, Any]:
    """Rows ``index`` of a collated batch (tensors, SeriesBatch and lists alike)."""
    inputs: dict[str, Any] = {}
    for name, x in batch["inputs"].items():
        if isinstance(x, SeriesBatch):
            inputs[name] = SeriesBatch(x.values[index], x.observed[index], x.times[index], x.step_mask[index])
        elif isinstance(x, list):
            inputs[name] = [x[i] for i in index.tolist()]
        else:
            inputs[name] = x[index]
    return {"inputs": inputs, "mask": batch["mask"][index], "y": batch["y"][index], "index": batch["index"][index]}


class SliceCollator:
    """``collate_fn`` turning a list of positions into a slice of a prepared batch (picklable)."""

    def __init__(self, full: dict[str, Any]) -> None:
        self.full = full

    def __call__(self, positions: list[int]) -> dict[str, Any]:
        return slice_batch(self.full, torch.as_tensor(positions, dtype=torch.long))


class EpochShuffleSampler(Sampler[int]):
    """Shuffles positions with a generator seeded by ``seed + epoch``.

    Lightning calls ``set_epoch`` each epoch, so a resumed run sees the same order as an
    uninterrupted one.
    """

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(np.random.default_rng(self.seed + self.epoch).permutation(self.n).tolist())

    def __len__(self) -> int:
        return self.n


class TensorStore:
    """A (standardised) dataset collated once into tensors."""

    def __init__(self, dataset: MultimodalDataset) -> None:
        self.dataset = dataset
        self.full = make_batch(dataset, np.arange(len(dataset)))

    def loader(self, index: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0) -> DataLoader:
        """A DataLoader over the dataset positions ``index``."""
        positions = [int(i) for i in index]
        return DataLoader(
            positions,  # type: ignore[arg-type]  # torch's stub wants a Dataset; a list is a map-style dataset
            batch_size=batch_size,
            sampler=EpochShuffleSampler(len(positions), seed) if shuffle else None,
            collate_fn=SliceCollator(self.full),
        )

    def sequence_loader(
        self, index: np.ndarray, length: int, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> DataLoader:
        """A DataLoader of windows of ``length`` consecutive epochs (sequence models)."""
        sampler = SequenceBatchSampler(
            list(self.dataset.sample_ids), index, length, batch_size, shuffle=shuffle, seed=seed
        )
        return DataLoader(
            range(len(self.dataset)),  # type: ignore[arg-type]  # torch's stub wants a Dataset; a range is a map-style dataset
            batch_sampler=sampler,
            collate_fn=SliceCollator(self.full),
        )

    def batch(self, index: np.ndarray) -> dict[str, Any]:
        return slice_batch(self.full, torch.as_tensor(np.asarray(index), dtype=torch.long))
