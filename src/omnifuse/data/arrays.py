"""Containers for one modality's data across samples, and the few operations on them.

A modality's data is one of

* a dense ``numpy.ndarray`` of shape ``(n_samples, *shape)`` (float32; NaN marks a value
  that was not observed; rows of absent samples are all NaN), or of strings (texts),
* :class:`IrregularSeries` for irregularly sampled time series,
* :class:`LazyFiles` for data read from files on demand (images, EDF recordings).

Whether a sample *has* a modality is never read from the values: the dataset's
availability mask is the single source of truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Union

import numpy as np
from PIL import Image

from omnifuse.errors import DataError


@dataclass
class IrregularSeries:
    """Irregularly sampled multichannel time series, padded to a common length.

    Attributes:
        values: ``(n_samples, max_steps, n_channels)`` float32; NaN where a channel was not
            observed at that step (and on padding steps).
        times: ``(n_samples, max_steps)`` float32 time stamps; NaN on padding steps.
        lengths: ``(n_samples,)`` int64 number of real steps of each sample.
    """

    values: np.ndarray
    times: np.ndarray
    lengths: np.ndarray

    def __post_init__(self) -> None:
        if self.values.ndim != 3 or self.times.shape != self.values.shape[:2]:
            raise DataError(
                f"IrregularSeries: values {self.values.shape} and times {self.times.shape} "
                "must be (n, steps, channels) and (n, steps)"
            )
        if self.lengths.shape != (self.values.shape[0],):
            raise DataError("IrregularSeries: lengths must have one entry per sample")

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def observed(self) -> np.ndarray:
        """Boolean ``(n, steps, channels)``: True where a value was observed."""
        return ~np.isnan(self.values)

    @property
    def step_mask(self) -> np.ndarray:
        """Boolean ``(n, steps)``: True on real (non-padding) steps."""
        return np.arange(self.values.shape[1])[None, :] < self.lengths[:, None]

    def take(self, idx: np.ndarray) -> "IrregularSeries":
        return IrregularSeries(self.values[idx], self.times[idx], self.lengths[idx])


#: Reads one file into an array; chosen per file suffix.
FileReader = Callable[[Path], np.ndarray]


def _read_npy(path: Path) -> np.ndarray:
    return np.load(path, allow_pickle=False)


def _read_image(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


FILE_READERS: dict[str, FileReader] = {
    ".npy": _read_npy,
    ".png": _read_image,
    ".jpg": _read_image,
    ".jpeg": _read_image,
}


@dataclass
class LazyFiles:
    """File references read on demand; ``""`` marks a sample without a file."""

    paths: np.ndarray

    def __len__(self) -> int:
        return int(self.paths.shape[0])

    def take(self, idx: np.ndarray) -> "LazyFiles":
        return LazyFiles(self.paths[idx])

    def load(self, i: int) -> np.ndarray:
        """Read the file of sample ``i`` with the reader registered for its suffix."""
        path = Path(str(self.paths[i]))
        reader = FILE_READERS.get(path.suffix.lower())
        if reader is None:
            raise DataError(
                f"{path}: no reader for files of type '{path.suffix}' (known: {', '.join(sorted(FILE_READERS))})"
            )
        try:
            return reader(path)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot read file ({exc})") from exc


ModalityData = Union[np.ndarray, IrregularSeries, LazyFiles]


def n_rows(data: ModalityData) -> int:
    """Number of samples held by a modality container."""
    return len(data)


def take(data: ModalityData, idx: np.ndarray) -> ModalityData:
    """Rows ``idx`` of a modality container (a new container)."""
    if isinstance(data, np.ndarray):
        return data[idx]
    return data.take(idx)


def blank_rows(data: ModalityData, rows: np.ndarray) -> ModalityData:
    """A copy of ``data`` whose ``rows`` (bool or int index) hold no values.

    Used when a corruption makes a modality absent, so nothing of the dropped data can leak.
    """
    if isinstance(data, np.ndarray):
        out = data.copy()
        out[rows] = "" if out.dtype.kind in "US" else np.nan
        return out
    if isinstance(data, IrregularSeries):
        values = data.values.copy()
        values[rows] = np.nan
        return IrregularSeries(values, data.times, data.lengths)
    paths = data.paths.copy()
    paths[rows] = ""
    return LazyFiles(paths)
