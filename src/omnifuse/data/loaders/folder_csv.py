"""Reading the CSV files of the folder format: every row must have the header's fields.

pandas fills a short row with empty values and may take a long first row's extra field as an
index, silently. A ragged row is a broken export (a line cut short, a stray line appended), so
it is refused with the file, the line and both field counts.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from omnifuse.errors import DataError


def check_field_counts(path: Path, raw: bytes) -> None:
    """Raise DataError naming the first non-blank line whose field count differs from the header's."""
    if b'"' in raw:  # quoted fields may hold commas or newlines: let the csv module split them
        _check_quoted(path, raw)
        return
    data = np.frombuffer(raw, dtype=np.uint8)
    ends = np.flatnonzero(data == ord("\n"))
    if not len(data) or data[-1] != ord("\n"):
        ends = np.append(ends, len(data))
    starts = np.concatenate([[0], ends[:-1] + 1])
    commas = np.concatenate([[0], np.cumsum(data == ord(","))])
    fields = commas[ends] - commas[starts] + 1
    blank = np.zeros(len(fields), dtype=bool)
    for k in np.flatnonzero(fields == 1):  # empty or whitespace-only lines are skipped, as pandas does
        blank[k] = not raw[starts[k] : ends[k]].strip()
    lines = np.flatnonzero(~blank)
    if not len(lines):
        return
    header = int(fields[lines[0]])
    bad = lines[fields[lines] != header]
    if len(bad):
        _refuse(path, int(bad[0]) + 1, int(fields[bad[0]]), header)


def _check_quoted(path: Path, raw: bytes) -> None:
    reader = csv.reader(io.StringIO(raw.decode("utf-8", "replace"), newline=""))
    header, line = None, 0
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if header is None:
                header = len(row)
            elif len(row) != header:
                _refuse(path, start, len(row), header)
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: cannot be read ({exc})") from None


def _refuse(path: Path, line: int, n_fields: int, header: int) -> None:
    raise DataError(f"{path}: line {line} has {n_fields} field(s), the header has {header}")
