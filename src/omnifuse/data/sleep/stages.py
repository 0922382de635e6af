"""Label side of MedFuseSleep (Whitlow et al. 2025) section 3.1: stage consolidation, dropping, subject filter, wake trimming.

Reading of the edge-trimming rule ``n_trim = (N_wake - N_2nd-dominant) / 2``: it applies only
when Wake is the most frequent stage of the (consolidated, movement/unscored-free) recording.
``N_2nd`` is then the count of the most frequent non-wake stage, and
``n_trim = floor((N_wake - N_2nd) / 2)`` wake epochs are removed from *each* end, so that at
most ``N_wake - N_2nd`` wake epochs go and Wake ends up about as frequent as the second stage.
Only the leading and trailing runs of Wake are cut: when a run is shorter than ``n_trim`` it is
removed entirely and the cut stops at the first sleep epoch (the shortfall is not moved to
the other end, which keeps the trimming symmetric). Sleep epochs are never cut.
"""

from __future__ import annotations

import numpy as np

from omnifuse.data.sleep.hypnogram import RAW_STAGES

#: The five AASM classes, in label order.
STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "REM")
WAKE = 0
#: Raw code -> class index; -1 drops the epoch (movement, unscored). N4 merges into N3.
_CONSOLIDATE = {"W": 0, "N1": 1, "N2": 2, "N3": 3, "N4": 3, "REM": 4, "MOVE": -1, "UNSCORED": -1}
CONSOLIDATION = np.array([_CONSOLIDATE[s] for s in RAW_STAGES], dtype=np.int64)


def consolidate(raw: np.ndarray) -> np.ndarray:
    """Class index per epoch from raw codes: N3+N4 -> N3, movement/unscored -> -1."""
    return CONSOLIDATION[np.asarray(raw, dtype=np.int64)]


def missing_stages(y: np.ndarray) -> list[str]:
    """Names of the five classes that do not occur in ``y``."""
    present = set(np.asarray(y).tolist())
    return [name for k, name in enumerate(STAGES) if k not in present]


def wake_trim_amount(y: np.ndarray) -> int:
    """``floor((N_wake - N_second) / 2)`` when Wake is the most frequent class, else 0."""
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(STAGES))
    n_second = int(np.delete(counts, WAKE).max())
    return max(0, (int(counts[WAKE]) - n_second) // 2)


def wake_trim(y: np.ndarray) -> tuple[int, int]:
    """``(start, stop)``: keep ``y[start:stop]`` after trimming edge wake (module docstring)."""
    y = np.asarray(y)
    n_trim = wake_trim_amount(y)
    if n_trim == 0:
        return 0, len(y)
    sleep = np.flatnonzero(y != WAKE)
    lead = int(sleep[0]) if len(sleep) else len(y)
    trail = int(len(y) - 1 - sleep[-1]) if len(sleep) else len(y)
    return min(n_trim, lead), len(y) - min(n_trim, trail)
