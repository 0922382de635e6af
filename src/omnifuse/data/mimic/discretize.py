"""The benchmark's discretiser, vectorised: 2-hour bins over the first 48 h, last value per bin,
forward fill, "normal values" before the first observation, one-hot categories, masks.

Rules (those of ``Discretizer(timestep=2.0, impute_strategy="previous", start_time="zero")``
with ``end=48`` in the MIMIC-III benchmark, which MedFuse uses):

* an event at ``t`` hours after ICU admission is kept when ``0 <= t <= 48`` (within 1e-6);
* its bin is ``int(t / 2 - 1e-6)``: bin k covers (2k, 2k + 2] hours, and t = 0 falls in bin 0;
* within a bin the last event wins (ordered by time, then by itemid, as the benchmark's
  ``sort_values(["charttime", "itemid"])`` followed by ``drop_duplicates(keep="last")``);
* a bin without an event takes the variable's previous bin value; before the first
  observation, the normal value;
* the mask is 1 only in bins where the variable was observed.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from omnifuse.data.mimic.variables import CATEGORIES, NORMAL_VALUES, VARIABLES, is_categorical

HOURS = 48.0
STEP_HOURS = 2.0
N_STEPS = int(HOURS / STEP_HOURS)  # 24
EPS = 1e-6


class Events(NamedTuple):
    """Cleaned events: one entry per observation."""

    stay: np.ndarray  # int64 row of the stay in the cohort
    hours: np.ndarray  # float64 hours since ICU admission
    var: np.ndarray  # int64 index into VARIABLES
    value: np.ndarray  # float64: the number, or the category index for categorical variables
    itemid: np.ndarray  # int64, breaks ties between events at the same time


def normal_codes() -> np.ndarray:
    """The normal value of each variable as stored in :class:`Events` (number or category index)."""
    out = np.empty(len(VARIABLES), dtype=np.float64)
    for k, name in enumerate(VARIABLES):
        normal = NORMAL_VALUES[name]
        out[k] = CATEGORIES[name].index(normal) if is_categorical(name) else float(normal)
    return out


def bin_of(hours: np.ndarray) -> np.ndarray:
    """Bin index of each time; -1 for times outside [0, 48] h."""
    hours = np.asarray(hours, dtype=np.float64)
    inside = (hours > -EPS) & (hours < HOURS + EPS)
    bins = np.trunc(hours / STEP_HOURS - EPS).astype(np.int64)
    return np.where(inside, np.clip(bins, 0, N_STEPS - 1), -1)


def last_per_bin(events: Events, n_stays: int) -> np.ndarray:
    """``(n_stays, 24, 17)`` last value per bin and variable; NaN where nothing was observed."""
    grid = np.full((n_stays, N_STEPS, len(VARIABLES)), np.nan)
    bins = bin_of(events.hours)
    keep = (bins >= 0) & ~np.isnan(events.value)
    stay, var, hours, item, value, bins = (
        events.stay[keep], events.var[keep], events.hours[keep], events.itemid[keep], events.value[keep], bins[keep],
    )  # fmt: skip
    cell = (stay * N_STEPS + bins) * len(VARIABLES) + var
    order = np.lexsort((item, hours, cell))  # by cell, then time, then itemid
    cell, value = cell[order], value[order]
    last = np.ones(len(cell), dtype=bool)
    last[:-1] = cell[1:] != cell[:-1]  # the last event of each cell
    grid.reshape(-1)[cell[last]] = value[last]
    return grid


def forward_fill(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill each bin with the previous observed value (normal value before the first).

    Returns ``(filled, mask)``; ``mask`` is True where the bin held an observation.
    """
    mask = ~np.isnan(grid)
    steps = np.arange(grid.shape[1])[None, :, None]
    last = np.maximum.accumulate(np.where(mask, steps, -1), axis=1)
    filled = np.take_along_axis(grid, np.maximum(last, 0), axis=1)
    normals = np.broadcast_to(normal_codes()[None, None, :], grid.shape)
    filled = np.where(last >= 0, filled, normals)
    return filled, mask


def encode(filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(n, 24, 76)``: continuous values and one-hot categories (59 columns), then 17 masks."""
    blocks = []
    for k, name in enumerate(VARIABLES):
        column = filled[:, :, k]
        if is_categorical(name):
            blocks.append(np.eye(len(CATEGORIES[name]))[column.astype(np.int64)])
        else:
            blocks.append(column[:, :, None])
    blocks.append(mask.astype(np.float64))
    return np.concatenate(blocks, axis=2).astype(np.float32)


def discretize(events: Events, n_stays: int) -> np.ndarray:
    """Events to the ``(n_stays, 24, 76)`` benchmark representation (raw units, not standardised)."""
    filled, mask = forward_fill(last_per_bin(events, n_stays))
    return encode(filled, mask)


def step_times() -> np.ndarray:
    """Time stamp of each step: the end of its bin (2, 4, ..., 48 hours)."""
    return (np.arange(N_STEPS, dtype=np.float32) + 1.0) * STEP_HOURS
