"""Padded arrays of PhysioNet 2012 rows: per-cell means and irregular series, duplicates averaged."""

from __future__ import annotations

import numpy as np

from omnifuse.data.arrays import IrregularSeries


def _mean_cells(cell: np.ndarray, value: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Mean of ``value`` per ``cell`` (NaN where a cell has none) and the number of rows merged."""
    sums = np.bincount(cell, weights=value, minlength=size)
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means, int(len(cell) - np.count_nonzero(counts))


def _series(
    stay: np.ndarray, minute: np.ndarray, chan: np.ndarray, value: np.ndarray, n: int, n_ch: int
) -> tuple[IrregularSeries, int]:
    """Pad the rows of one modality: one step per (stay, minute), the mean of duplicates."""
    if not len(stay):
        empty = np.full((n, 1), np.nan, dtype=np.float32)
        return IrregularSeries(np.repeat(empty[:, :, None], n_ch, axis=2), empty, np.zeros(n, np.int64)), 0
    span = int(minute.max()) + 1
    key = stay.astype(np.int64)  # (stay, minute, channel) as one sortable int64, built in place
    key *= span
    key += minute
    key *= n_ch
    key += chan
    order = np.argsort(key, kind="stable")
    key, value = key[order], value[order]
    del order
    cell_start = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]]))
    n_rows, n_cells = len(key), len(cell_start)
    means = np.add.reduceat(value, cell_start)
    means /= np.diff(np.append(cell_start, n_rows))
    step_key, cell_chan = np.divmod(key[cell_start], n_ch)
    del key, value, cell_start
    new_step = np.concatenate([[True], step_key[1:] != step_key[:-1]])
    step_stay, step_minute = np.divmod(step_key[new_step], span)
    lengths = np.bincount(step_stay, minlength=n).astype(np.int64)
    max_steps = int(lengths.max())
    slot = step_stay * max_steps + np.arange(len(step_stay)) - (np.cumsum(lengths) - lengths)[step_stay]
    times = np.full((n, max_steps), np.nan, dtype=np.float32)
    times.reshape(-1)[slot] = step_minute / 60.0
    values = np.full((n, max_steps, n_ch), np.nan, dtype=np.float32)
    values.reshape(-1)[slot[np.cumsum(new_step) - 1] * n_ch + cell_chan] = means
    return IrregularSeries(values, times, lengths), n_rows - n_cells
