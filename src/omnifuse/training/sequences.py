"""Batches of consecutive epochs for sequence-to-sequence models (MedFuseSleep, Whitlow et al. 2025).

A sequence model (one with a ``sequence_length`` attribute L) reads a batch as blocks of L
rows, each block L consecutive epochs of one recording, and returns one prediction per row.
Samples are ordered by the ``(recording, position)`` encoded in their ids
(``"<recording>#<position>"``, see :mod:`omnifuse.data.sleep.epochs`); a gap in the
positions starts a new run. The sleep loader numbers epochs after dropping movement and
unscored ones, so windows run across those (as the paper's concatenated sequences do); a
gap appears when samples are left out of the dataset (a subset, a split).

Training draws windows from each run at a random offset per epoch (seeded by
``seed + epoch``, so resumed runs see the same batches); prediction tiles every run so each
epoch is covered, and averages the predictions of epochs covered twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Sampler

from omnifuse.errors import DataError
from omnifuse.models.output import ModelOutput

SEPARATOR = "#"


def recording_positions(ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(recording, position)`` of every sample id ``"<recording>#<position>"``."""
    recordings, positions = [], []
    for sample_id in ids:
        recording, sep, position = str(sample_id).rpartition(SEPARATOR)
        if not sep or not position.isdigit():
            raise DataError(f"sample '{sample_id}': a sequence model needs epoch ids '<recording>#<position>'")
        recordings.append(recording)
        positions.append(int(position))
    return np.asarray(recordings, dtype=object), np.asarray(positions, dtype=np.int64)


def runs(ids: Sequence[str], index: np.ndarray) -> list[np.ndarray]:
    """Dataset positions ``index`` split into runs of consecutive epochs, in recording order."""
    index = np.asarray(index, dtype=np.int64)
    if len(index) == 0:
        return []
    recordings, positions = recording_positions([ids[i] for i in index])
    order = np.lexsort((positions, recordings.astype(str)))
    index, recordings, positions = index[order], recordings[order], positions[order]
    breaks = np.flatnonzero((recordings[1:] != recordings[:-1]) | (np.diff(positions) != 1)) + 1
    return np.split(index, breaks)


def windows(run: np.ndarray, length: int, offset: int = 0) -> list[np.ndarray]:
    """Windows of ``length`` consecutive samples covering ``run``.

    Starts at ``offset``, then every ``length``; the start and the end of the run get a
    window of their own when the tiling leaves them out. A run shorter than ``length`` is
    padded by repeating its last sample (its predictions are averaged away).
    """
    n = len(run)
    if n < length:
        return [np.concatenate([run, np.full(length - n, run[-1])])]
    starts = list(range(offset % length, n - length + 1, length))
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    if starts[-1] != n - length:
        starts.append(n - length)
    return [run[s : s + length] for s in starts]


class SequenceBatchSampler(Sampler[list[int]]):
    """Batches of ``max(1, batch_size // length)`` windows of dataset positions.

    With ``shuffle`` each epoch tiles every run from a random offset and shuffles the
    windows (generator seeded by ``seed + epoch``; Lightning calls :meth:`set_epoch`).
    """

    def __init__(
        self, ids: Sequence[str], index: np.ndarray, length: int, batch_size: int, shuffle: bool = False, seed: int = 0
    ) -> None:
        self.runs = runs(ids, index)
        self.length = length
        self.per_batch = max(1, batch_size // length)
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        # windows per run: with shuffling, the most any offset gives (an epoch with fewer adds
        # random extra windows), so every epoch has the same number of batches -- Lightning
        # reads len() once and would otherwise skip batches or miss the epoch's validation
        self._counts = [
            max(len(windows(run, length, o)) for o in range(length)) if shuffle else len(windows(run, length))
            for run in self.runs
        ]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    @property
    def sampler(self) -> "SequenceBatchSampler":
        """Lightning calls ``set_epoch`` on ``loader.batch_sampler.sampler``: that is us."""
        return self

    def _windows(self) -> list[np.ndarray]:
        if not self.shuffle:
            return [w for run in self.runs for w in windows(run, self.length)]
        rng = np.random.default_rng(self.seed + self.epoch)
        out = []
        for run, count in zip(self.runs, self._counts):
            wins = windows(run, self.length, int(rng.integers(self.length)))
            while len(wins) < count:  # top up to the fixed count with random windows of the run
                start = int(rng.integers(0, len(run) - self.length + 1))
                wins.append(run[start : start + self.length])
            out += wins
        return [out[i] for i in rng.permutation(len(out))]

    def __iter__(self) -> Iterator[list[int]]:
        wins = self._windows()
        for start in range(0, len(wins), self.per_batch):
            yield np.concatenate(wins[start : start + self.per_batch]).tolist()

    def __len__(self) -> int:
        return (sum(self._counts) + self.per_batch - 1) // self.per_batch


def sequence_outputs(
    model: torch.nn.Module, store: "object", ids: Sequence[str], index: np.ndarray, length: int, chunk_windows: int = 32
) -> ModelOutput:
    """Outputs of a sequence model for dataset positions ``index`` (rows in that order).

    Every run of consecutive epochs containing an indexed sample is tiled into windows over
    the whole stored dataset (neighbours give context even when they are not in ``index``);
    an epoch covered by two windows gets the mean of its two outputs.
    """
    index = np.ascontiguousarray(index, dtype=np.int64)
    if len(index) == 0:
        return ModelOutput(logits=torch.zeros((0, 0)))
    wanted = set(index.tolist())
    all_runs = [r for r in runs(ids, np.arange(len(ids))) if wanted.intersection(r.tolist())]
    wins = [w for r in all_runs for w in windows(r, length)]
    sums: dict[str, torch.Tensor] = {}
    counts = torch.zeros(len(ids))
    for start in range(0, len(wins), chunk_windows):
        rows = np.concatenate(wins[start : start + chunk_windows])
        batch = store.batch(rows)  # type: ignore[attr-defined]
        out = model(batch["inputs"], batch["mask"])
        fields = {
            "logits": out.logits,
            **{f"m/{k}": v for k, v in out.modality_logits.items()},
            **{f"e/{k}": v for k, v in out.embeddings.items()},
        }
        if out.weights is not None:
            fields["weights"] = out.weights
        if out.spread is not None:  # seed ensembles: the members' spread, averaged like the rest
            fields["spread"] = out.spread
        target = torch.as_tensor(np.ascontiguousarray(rows))
        for key, value in fields.items():
            if key not in sums:
                sums[key] = torch.zeros((len(ids), *value.shape[1:]), dtype=value.dtype)
            sums[key].index_add_(0, target, value.detach().to(sums[key].dtype))
        counts.index_add_(0, target, torch.ones(len(rows)))
    pick = torch.as_tensor(index)
    mean = {k: v[pick] / counts[pick].clamp(min=1).view(-1, *([1] * (v.dim() - 1))) for k, v in sums.items()}
    return ModelOutput(
        logits=mean["logits"],
        modality_logits={k[2:]: v for k, v in mean.items() if k.startswith("m/")},
        weights=mean.get("weights"),
        losses={},
        embeddings={k[2:]: v for k, v in mean.items() if k.startswith("e/")},
        spread=mean.get("spread"),
    )
