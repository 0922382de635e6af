"""Outcomes-X.txt files of PhysioNet 2012: read them and match their labels to the stay files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from omnifuse.errors import DataError

if TYPE_CHECKING:
    from omnifuse.data.loaders.physionet import _Stays

OUTCOME_COLUMN = "In-hospital_death"
_OUTCOMES = re.compile(r"^Outcomes-([A-Za-z0-9]+)\.txt$")


def _read_outcomes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """RecordIDs and In-hospital_death (0/1) of an Outcomes file."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({' '.join(str(exc).split())[:200]})") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    out = []
    for column, need in (("RecordID", "an integer"), (OUTCOME_COLUMN, "0 or 1")):
        if column not in frame:
            raise DataError(f"{path}: no column '{column}' (columns: {', '.join(frame.columns)})")
        raw = frame[column].str.strip()
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(values) | (values != np.round(values))
        bad |= ~np.isin(values, (0, 1)) if column == OUTCOME_COLUMN else False
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: line {r + 2}: {column} '{raw.iloc[r]}' is not {need}")
        out.append(values.astype(np.int64))
    dup = pd.Index(out[0]).duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup)[0])
        raise DataError(f"{path}: line {r + 2}: RecordID {out[0][r]} appears twice")
    return out[0], out[1]


def _match_outcomes(root: Path, sets: dict[str, Path], stays: _Stays, ids: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """In-hospital death per file (-1: no Outcomes row, dropped) and the warnings to issue."""
    letters, death, messages = np.asarray(stays.letters), np.full(len(ids), -1, dtype=np.int64), []
    for letter, source in sets.items():
        path = root / f"Outcomes-{letter}.txt"
        out_ids, out_deaths = _read_outcomes(path)
        files = np.flatnonzero(letters == letter)
        position = pd.Index(out_ids).get_indexer(ids[files])
        death[files[position >= 0]] = out_deaths[position[position >= 0]]
        missing = np.sort(ids[files[position < 0]])
        if len(missing):
            where = f"have no row in {path.name} and are dropped"
            messages.append(f"{source}: {len(missing)} stay(s) {where}: {_ids(missing)}")
        orphans = np.sort(out_ids[~np.isin(out_ids, ids[files])])
        if len(orphans):
            where = f"have no stay file in {source.name} and are dropped"
            messages.append(f"{path}: {len(orphans)} RecordID(s) {where}: {_ids(orphans)}")
    for extra in sorted(root.glob("Outcomes-*.txt")):
        match = _OUTCOMES.match(extra.name)
        if match and match[1] not in sets:
            messages.append(f"{extra}: no set-{match[1]}/ or set-{match[1]}.tar.gz beside it; ignored")
    return death, messages


def _ids(ids: np.ndarray, limit: int = 10) -> str:
    more = f" (and {len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(str(i) for i in ids[:limit]) + more
