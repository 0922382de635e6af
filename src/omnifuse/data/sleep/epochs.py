"""Sample ids of sleep epochs: ``"<recording>#<position>"``, position zero-padded to 5 digits.

The position counts the epochs of the preprocessed (dropped, trimmed) recording: consecutive
epochs of a recording have consecutive positions, so a sequence model can rebuild the nights.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnifuse.errors import DataError

SEPARATOR = "#"
DIGITS = 5


def epoch_id(recording: str, k: int) -> str:
    """Id of epoch ``k`` of ``recording``: ``epoch_id("SC4001E0", 7) == "SC4001E0#00007"``."""
    if k < 0:
        raise DataError(f"epoch position must be >= 0, got {k}")
    return f"{recording}{SEPARATOR}{int(k):0{DIGITS}d}"


def epoch_ids(recording: str, n: int) -> np.ndarray:
    """Ids of epochs ``0 .. n-1`` of ``recording``."""
    return np.array([epoch_id(recording, k) for k in range(n)], dtype=str)


def parse_epoch_ids(ids: Sequence[str] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ids into ``(recordings: str array, positions: int64 array)``.

    The recording is everything before the last ``#``; a malformed id is a DataError.
    """
    arr = np.asarray(ids).astype(str)
    if arr.size == 0:
        return np.array([], dtype=str), np.array([], dtype=np.int64)
    parts = np.char.rpartition(arr, SEPARATOR)
    recordings, seps, positions = parts[:, 0], parts[:, 1], parts[:, 2]
    bad = (seps != SEPARATOR) | (recordings == "") | ~np.char.isdigit(positions)
    if bad.any():
        raise DataError(f"sample id '{arr[bad][0]}' is not a sleep epoch id '<recording>{SEPARATOR}<position>'")
    return recordings, positions.astype(np.int64)
