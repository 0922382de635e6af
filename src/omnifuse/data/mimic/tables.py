"""Reading MIMIC files: ``name.csv.gz`` or ``name.csv``, only the needed columns, one-line errors.

Small tables (admissions, patients, icustays, CXR metadata) are read with pandas. The event
tables (``icu/chartevents``, ``hosp/labevents``: hundreds of millions of rows) are streamed with
``pyarrow.csv.open_csv`` in blocks and filtered on itemid and stay/subject while reading, so
memory holds only the rows the recipe keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from omnifuse.errors import DataError
from omnifuse.utils.progress import track

SUFFIXES = (".csv.gz", ".csv")
BLOCK_BYTES = 64 << 20


def find_table(root: Path, name: str, what: str) -> Path:
    """``root/name.csv.gz`` or ``root/name.csv``; a DataError naming the expected path otherwise."""
    for suffix in SUFFIXES:
        path = root / f"{name}{suffix}"
        if path.is_file():
            return path
    raise DataError(f"{root / (name + SUFFIXES[0])}: not found (nor {Path(name).name}.csv); {what}")


def optional_table(root: Path, name: str) -> Path | None:
    for suffix in SUFFIXES:
        path = root / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def read_table(
    path: Path, columns: Iterable[str], dates: Iterable[str] = (), dtype: dict | None = None
) -> pd.DataFrame:
    """The ``columns`` of a CSV(.gz); dates parsed (unparseable ones become NaT)."""
    columns = list(columns)
    try:
        header = pd.read_csv(path, nrows=0).columns
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read ({_first_line(exc)})") from exc
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path}: no column '{missing[0]}' (columns: {', '.join(map(str, header[:12]))})")
    try:
        frame = pd.read_csv(path, usecols=columns, dtype=dtype)
    except (OSError, ValueError, EOFError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read ({_first_line(exc)})") from exc
    for column in dates:
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    return frame


class Window(NamedTuple):
    """Per key (sorted), the first and last ``charttime`` to keep, in seconds since the epoch."""

    keys: np.ndarray
    start: np.ndarray
    end: np.ndarray


def stream_events(
    path: Path,
    columns: list[str],
    types: dict[str, pa.DataType],
    itemids: Iterable[int],
    key: str,
    window: Window,
    progress: bool = False,
) -> pd.DataFrame:
    """Rows of an event table whose ``itemid`` is in ``itemids``, ``key`` column in ``window.keys``
    and ``charttime`` within that key's window. Rows whose charttime is not ``YYYY-MM-DD HH:MM:SS``
    are kept (the caller parses and counts them)."""
    item_set = pa.array(sorted(set(int(i) for i in itemids)), type=pa.int64())
    key_set = pa.array(window.keys, type=pa.int64())
    convert = pacsv.ConvertOptions(include_columns=columns, column_types=types, strings_can_be_null=True)
    parts: list[pa.Table] = []
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES), convert_options=convert)
        for batch in track(reader, f"reading {path.name}", enabled=progress):
            keep = pc.and_(
                pc.fill_null(pc.is_in(batch.column("itemid"), value_set=item_set), False),
                pc.fill_null(pc.is_in(batch.column(key), value_set=key_set), False),
            )
            if pc.any(keep).as_py():
                parts.append(_in_window(pa.Table.from_batches([batch.filter(keep)]), key, window))
    except (pa.ArrowInvalid, pa.ArrowKeyError, OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({_first_line(exc)})") from exc
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=_pandas_dtype(types.get(c))) for c in columns})
    return pa.concat_tables(parts).to_pandas()


def _in_window(table: pa.Table, key: str, window: Window) -> pa.Table:
    when = pc.strptime(table.column("charttime"), format="%Y-%m-%d %H:%M:%S", unit="s", error_is_null=True)
    seconds = pc.cast(when, pa.int64()).to_numpy(zero_copy_only=False)
    unparsed = pc.is_null(when).to_numpy(zero_copy_only=False)
    pos = np.searchsorted(window.keys, table.column(key).to_numpy(zero_copy_only=False))
    with np.errstate(invalid="ignore"):
        inside = (seconds >= window.start[pos] - 1) & (seconds <= window.end[pos] + 1)
    return table.filter(pa.array(unparsed | inside))


def _pandas_dtype(kind: pa.DataType | None) -> object:
    if kind is None or pa.types.is_string(kind):
        return object
    return np.dtype(kind.to_pandas_dtype())


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] or type(exc).__name__
