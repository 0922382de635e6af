"""What to embed: image files (a folder or a table of paths) and texts (a table column).

Every item carries its sample id, a name for messages (the file, or the table row) and its
source (a file path, or the text itself). Structural problems (missing file or column,
duplicate sample ids) raise :class:`~omnifuse.errors.DataError`; problems of one item (an
unreadable image, an empty text) are found later, during extraction, and only that item fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from omnifuse.errors import DataError
from omnifuse.media.images import IMAGE_SUFFIXES

ID_COLUMN = "sample_id"
PATH_COLUMN = "path"
TABLE_SUFFIXES = (".csv", ".parquet")


@dataclass(frozen=True)
class MediaItem:
    """One thing to embed.

    Attributes:
        sample_id: the sample the embedding belongs to.
        name: how messages refer to it (a file path, or ``table row N (sample 'x')``).
        source: a file path (images) or the text itself (texts).
    """

    sample_id: str
    name: str
    source: str


def image_items(source: str | Path, path_column: str = PATH_COLUMN, id_column: str = ID_COLUMN) -> list[MediaItem]:
    """Images of a folder (sample id = file name without suffix; not recursive) or of a
    CSV/Parquet table with ``id_column`` and ``path_column`` (relative paths are relative to
    the table's folder)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        return _folder_images(path)
    table = read_table(path)
    _require_columns(table, path, id_column, path_column)
    ids = _ids(table, path, id_column)
    items = []
    for row, (sid, raw) in enumerate(zip(ids, table[path_column].tolist())):
        text = "" if _is_missing(raw) else str(raw).strip()
        file = (path.parent / Path(text).expanduser()) if text else None
        name = str(file) if file is not None else f"{path} {_row_name(path, row)} (sample '{sid}')"
        items.append(MediaItem(sid, name, str(file) if file is not None else ""))
    return items


def _folder_images(folder: Path) -> list[MediaItem]:
    files = [
        p for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and (p.suffix.lower() in IMAGE_SUFFIXES or _sniff_dicom(p))
    ]  # fmt: skip
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}, or DICOM without a suffix)")
    seen: dict[str, Path] = {}
    for file in files:
        if file.stem in seen:
            raise DataError(
                f"{folder}: two images for sample '{file.stem}' ({seen[file.stem].name}, {file.name}); "
                "rename one, or list the images in a CSV with sample_id and path columns"
            )
        seen[file.stem] = file
    return [MediaItem(file.stem, str(file), str(file)) for file in files]


def _sniff_dicom(path: Path) -> bool:
    if path.suffix:
        return False
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:132] == b"DICM"
    except OSError:
        return False


def text_items(source: str | Path, column: str, id_column: str = ID_COLUMN) -> list[MediaItem]:
    """Texts of column ``column`` of a CSV/Parquet table keyed by ``id_column``. Empty cells
    become items with an empty text (they fail during extraction, naming their row)."""
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; --text takes a CSV or Parquet table")
    table = read_table(path)
    _require_columns(table, path, id_column, column)
    ids = _ids(table, path, id_column)
    return [
        MediaItem(sid, f"{path} {_row_name(path, row)} (sample '{sid}')", "" if _is_missing(raw) else str(raw))
        for row, (sid, raw) in enumerate(zip(ids, table[column].tolist()))
    ]


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table, every column kept as read (ids as strings for CSV)."""
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: expected a .csv or .parquet table, got '{path.suffix or 'no suffix'}'")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path).reset_index(drop=True)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from exc


def _require_columns(table: pd.DataFrame, path: Path, *columns: str) -> None:
    for column in columns:
        if column not in table.columns:
            raise DataError(f"{path}: no column '{column}' (columns: {', '.join(map(str, table.columns))})")
    if len(table) == 0:
        raise DataError(f"{path}: the table has a header but no rows")


def _ids(table: pd.DataFrame, path: Path, id_column: str) -> list[str]:
    raw = table[id_column]
    ids = ["" if _is_missing(v) else str(v).strip() for v in raw.tolist()]
    empty = [row for row, sid in enumerate(ids) if not sid]
    if empty:
        raise DataError(f"{path}: {_row_name(path, empty[0])} has an empty {id_column}")
    duplicated = pd.Series(ids).duplicated(keep=False).to_numpy()
    if duplicated.any():
        rows = np.flatnonzero(duplicated)[:2]
        raise DataError(
            f"{path}: duplicate {id_column} '{ids[rows[0]]}' ({', '.join(_row_name(path, r) for r in rows)})"
        )
    return ids


def _row_name(path: Path, row: int) -> str:
    """A row as a user finds it: the CSV line number, or the 1-based Parquet row."""
    return f"row {row + 2}" if path.suffix.lower() == ".csv" else f"row {row + 1}"


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA
