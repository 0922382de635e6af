"""Loader of the PhysioNet/CinC Challenge 2012 data (ICU stays, in-hospital mortality).

A PhysioNet 2012 directory holds, per set letter X, ``set-X/`` or ``set-X.tar.gz`` (one
``<RecordID>.txt`` per stay: ``Time,Parameter,Value`` with Time ``HH:MM`` since ICU admission)
and ``Outcomes-X.txt`` (``RecordID,...,In-hospital_death``).

Modalities: ``static`` (tabular: Age, Gender, Height, Weight, ICUType one-hot), ``vitals`` and
``labs`` (time series in hours since admission, NaN = unobserved). Values outside the ranges
of :mod:`omnifuse.data.loaders.physionet_ranges` are counted in ``info["impossible_values"]``
and treated as unobserved.

Speed: the stay files are read as bytes, joined into one buffer (``HH:MM`` becomes two numeric
columns) and parsed by one ``pandas.read_csv`` call; padded arrays are built with vectorised
numpy. Only when that parse fails are the lines re-read one by one, to name the bad line.
"""

from __future__ import annotations

import csv
import gzip
import math
import re
import tarfile
import warnings
import zlib
from io import BytesIO
from pathlib import Path
from typing import NamedTuple, NoReturn

import numpy as np
import pandas as pd

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.cache import cached, content_key
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.loaders.physionet_ranges import (
    CODE, LABS, PARAMS, RANGES, STATIC_CODING, STATIC_FEATURES, STATIC_PARAMS, VITALS, clean_values,
    static_features,
)  # fmt: skip
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import DataError, DataWarning
from omnifuse.utils.progress import track

LOADER_VERSION = "physionet2012-1"
SOURCE = "physionet2012"
CLASS_NAMES = ("survived", "died")
OUTCOME_COLUMN = "In-hospital_death"
_HEADER = b"time,parameter,value"
_SET_DIR = re.compile(r"^set-([A-Za-z0-9]+)$")
_SET_TAR = re.compile(r"^set-([A-Za-z0-9]+)\.tar\.gz$")
_OUTCOMES = re.compile(r"^Outcomes-([A-Za-z0-9]+)\.txt$")
_TIME = re.compile(r"^\d{1,5}:[0-5]\d$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TAR_ERRORS = (tarfile.TarError, EOFError, zlib.error, OSError)


# ---------------------------------------------------------------------- entry points
def find_sets(path: Path) -> dict[str, Path]:
    """Set letter -> folder ``set-X/`` or archive ``set-X.tar.gz`` (a folder wins), sorted."""
    found: dict[str, Path] = {}
    for entry in sorted(Path(path).iterdir()) if Path(path).is_dir() else []:
        folder, archive = _SET_DIR.match(entry.name), _SET_TAR.match(entry.name)
        if folder and entry.is_dir():
            found[folder[1]] = entry
        elif archive and entry.is_file():
            found.setdefault(archive[1], entry)
    return dict(sorted(found.items()))


def is_physionet_dir(path: Path) -> bool:
    """True when ``path`` holds ``Outcomes-*.txt`` with ``set-*/`` folders or ``set-*.tar.gz``."""
    path = Path(path)
    if not path.is_dir() or not any(_OUTCOMES.match(p.name) and p.is_file() for p in path.iterdir()):
        return False
    return bool(find_sets(path))


def load_physionet2012(path: str | Path, use_cache: bool = True, progress: bool = False) -> MultimodalDataset:
    """Load the PhysioNet/CinC 2012 stays under ``path`` (``set-X/`` folders and/or ``.tar.gz``).

    Label: In-hospital_death (classes "survived", "died"); splits: the set letter; sample ids and
    groups: the RecordID. Cached by file contents unless ``use_cache`` is False; ``progress``
    shows a progress bar over the stay files. Raises DataError on bad input; dropped stays and
    unknown parameters are reported as DataWarning (again on loads from the cache).
    """
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (expected a PhysioNet 2012 folder)")
    sets = find_sets(root)
    if not sets:
        raise DataError(f"{root}: no PhysioNet 2012 set (expected set-X/ folders or set-X.tar.gz archives)")
    for letter, source in sets.items():
        if not (root / f"Outcomes-{letter}.txt").is_file():
            raise DataError(f"{root}: set '{letter}' ({source.name}) has no Outcomes-{letter}.txt")
    if use_cache:
        ds = cached(SOURCE, _cache_key(root, sets), lambda: _build(root, sets, progress))
    else:
        ds = _build(root, sets, progress)
    for message in ds.info.get("warnings", []):
        warnings.warn(message, DataWarning, stacklevel=2)
    return ds


def _cache_key(root: Path, sets: dict[str, Path]) -> str:
    sources, layout = [root / f"Outcomes-{letter}.txt" for letter in sets], []
    for letter, source in sets.items():
        members = _folder_files(source) if source.is_dir() else [source]
        sources += members
        layout.append(f"{letter}={source.name}:" + ",".join(p.name for p in members))
    return content_key(sources, LOADER_VERSION, str(root.resolve()), ";".join(layout))


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.txt") if not p.name.startswith(".") and p.is_file())


# ---------------------------------------------------------------------- reading
class _Stays:
    """The stay files read so far: display names, set letters, RecordIDs, header-less bodies."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.letters: list[str] = []
        self.ids: list[int] = []
        self.bodies: list[bytes] = []
        self.line_maps: dict[int, np.ndarray] = {}  # file -> line of each row, when not 2, 3, ...

    def add(self, name: str, letter: str, data: bytes) -> None:
        stem = name.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".txt")
        if not stem.isdigit():
            raise DataError(f"{name}: a stay file must be named <RecordID>.txt")
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        data = data.removeprefix(b"\xef\xbb\xbf")
        if not data.strip():
            raise DataError(f"{name}: empty file (no header and no RecordID row)")
        head, _, body = data.partition(b"\n")
        if head.replace(b" ", b"").lower() != _HEADER:
            got = head[:60].decode("utf-8", "replace")
            raise DataError(f"{name}: line 1: expected the header 'Time,Parameter,Value', got '{got}'")
        if body and not body.endswith(b"\n"):
            body += b"\n"
        if body.startswith(b"\n") or b"\n\n" in body:  # drop blank lines, remember line numbers
            lines = body.split(b"\n")[:-1]
            kept = [i for i, line in enumerate(lines) if line.strip()]
            body = b"".join(lines[i] + b"\n" for i in kept)
            self.line_maps[len(self.bodies)] = np.asarray(kept, dtype=np.int64) + 2
        self.names.append(name)
        self.letters.append(letter)
        self.ids.append(int(stem))
        self.bodies.append(body)

    def line(self, file: int, row_in_file: int) -> int:
        """1-based line number in its file of the ``row_in_file``-th data row of ``file``."""
        lines = self.line_maps.get(file)
        return int(lines[row_in_file]) if lines is not None else row_in_file + 2


def _read_set(letter: str, source: Path, stays: _Stays, progress: bool) -> None:
    before, label = len(stays.names), f"reading {source.name}"
    if source.is_dir():
        files = _folder_files(source)
        for path in track(files, label, total=len(files), enabled=progress):
            stays.add(str(path), letter, path.read_bytes())
    else:
        try:  # decompress at once: gzip checks the stream end and CRC, tarfile alone would not
            raw = gzip.decompress(source.read_bytes())
            with tarfile.open(fileobj=BytesIO(raw), mode="r:") as archive:
                for member in track(archive, label, enabled=progress):
                    base = member.name.rsplit("/", 1)[-1]
                    if member.isfile() and base.endswith(".txt") and not base.startswith("."):
                        handle = archive.extractfile(member)
                        stays.add(f"{source}:{member.name}", letter, handle.read() if handle else b"")
                end = raw[archive.offset : archive.offset + tarfile.BLOCKSIZE]
            if end != bytes(tarfile.BLOCKSIZE):
                raise tarfile.ReadError("no end-of-archive block")
        except _TAR_ERRORS as exc:
            raise DataError(f"{source}: truncated or corrupt archive ({' '.join(str(exc).split())})") from exc
    if len(stays.names) == before:
        raise DataError(f"{source}: no stay files (<RecordID>.txt)")


class _Reader:
    """Minimal file object over a bytearray (io.BytesIO would copy it)."""

    def __init__(self, data: bytearray) -> None:
        self.view, self.pos = memoryview(data), 0

    def read(self, size: int = -1) -> bytes:
        out = bytes(self.view[self.pos :] if size is None or size < 0 else self.view[self.pos : self.pos + size])
        self.pos += len(out)
        return out


class _Rows(NamedTuple):
    """One entry per data row of all stay files."""

    file: np.ndarray
    minute: np.ndarray
    code: np.ndarray  # index into PARAMS, -1 for unknown parameters
    value: np.ndarray
    starts: np.ndarray  # first row of each file, then the number of rows


def _parse(stays: _Stays) -> tuple[_Rows, dict[str, int], list[str]]:
    """Parse all stay bodies at once; unknown parameters are counted and reported."""
    counts = np.fromiter((b.count(b"\n") for b in stays.bodies), dtype=np.int64, count=len(stays.bodies))
    starts = np.concatenate([[0], np.cumsum(counts)])
    if starts[-1] == 0:
        raise DataError(f"{stays.names[0]}: no RecordID row")
    buffer = bytearray().join(stays.bodies)
    as_array = np.frombuffer(buffer, dtype=np.uint8)
    for i in range(0, len(as_array), 1 << 22):  # HH:MM -> HH,MM in place, in 4 MB chunks
        chunk = as_array[i : i + (1 << 22)]
        chunk[chunk == ord(":")] = ord(",")
    del as_array
    try:
        frame = pd.read_csv(
            _Reader(buffer), names=["h", "m", "p", "v"], header=None, engine="c",
            dtype={"h": np.int32, "m": np.int32, "p": "category", "v": np.float64},
            na_filter=False, skipinitialspace=True, skip_blank_lines=False, quoting=csv.QUOTE_NONE,
        )  # fmt: skip
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        _diagnose(stays, str(exc))
    hours, minutes, value = frame["h"].to_numpy(), frame["m"].to_numpy(), frame["v"].to_numpy()
    categories = [str(c).strip() for c in frame["p"].cat.categories]
    if len(frame) != starts[-1] or "" in categories or not np.isfinite(value).all() or (hours < 0).any() or (
        (minutes < 0) | (minutes > 59)
    ).any():
        _diagnose(stays, "inconsistent rows")
    category_codes = frame["p"].cat.codes.to_numpy()
    del frame, buffer
    stays.bodies = []  # parsed: free the text (line numbers stay in line_maps)
    lut = np.array([CODE.get(c, -1) for c in categories], dtype=np.int16)
    file = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    unknown: dict[str, int] = {}
    messages = []
    for k in np.flatnonzero(lut < 0):
        where = np.flatnonzero(category_codes == k)
        f, n_files = int(file[where[0]]), len(np.unique(file[where]))
        unknown[categories[k]] = len(where)
        messages.append(
            f"{stays.names[f]}: line {stays.line(f, int(where[0] - starts[f]))}: unknown parameter "
            f"'{categories[k]}' ignored ({len(where)} row(s) in {n_files} file(s))"
        )
    return _Rows(file, hours * 60 + minutes, lut[category_codes], value, starts), unknown, messages


def _diagnose(stays: _Stays, reason: str) -> NoReturn:
    """Re-read the stay files line by line and raise a DataError naming the first bad line."""
    for f, body in enumerate(stays.bodies):
        for k, line in enumerate(body.decode("utf-8", "replace").split("\n")[:-1]):
            fields = [x.strip() for x in line.split(",")]
            if len(fields) != 3:
                problem = f"expected 3 fields Time,Parameter,Value, got {len(fields)}: '{line[:80]}'"
            elif not _TIME.match(fields[0]):
                problem = f"bad time '{fields[0][:20]}' (expected HH:MM)"
            elif not fields[1] or ":" in fields[1]:
                problem = f"bad parameter name '{fields[1][:40]}'"
            elif not _NUMBER.match(fields[2]) or not math.isfinite(float(fields[2])):
                problem = f"parameter '{fields[1]}': non-numeric value '{fields[2][:40]}'"
            else:
                continue
            raise DataError(f"{stays.names[f]}: line {stays.line(f, k)}: {problem}")
    reason = " ".join(reason.split())[:200]
    raise DataError(f"{stays.names[0]} and {len(stays.names) - 1} other stay files: cannot parse ({reason})")


def _check_record_ids(stays: _Stays, rows: _Rows) -> np.ndarray:
    """RecordID per file, after checking every file has RecordID rows agreeing with its name."""
    ids = np.asarray(stays.ids, dtype=np.int64)
    is_id = rows.code == CODE["RecordID"]
    n_id_rows = np.bincount(rows.file[is_id], minlength=len(ids))
    if (n_id_rows == 0).any():
        raise DataError(f"{stays.names[int(np.argmin(n_id_rows))]}: no RecordID row")
    wrong = np.flatnonzero(is_id & (rows.value != ids[rows.file]))
    if len(wrong):
        r, f = int(wrong[0]), int(rows.file[wrong[0]])
        raise DataError(
            f"{stays.names[f]}: line {stays.line(f, r - int(rows.starts[f]))}: RecordID {rows.value[r]:g} "
            f"disagrees with the file name ({ids[f]}.txt)"
        )
    order = np.argsort(ids, kind="stable")
    same = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(same):
        a, b = order[same[0]], order[same[0] + 1]
        raise DataError(f"{stays.names[b]}: RecordID {ids[b]} also in {stays.names[a]}")
    return ids


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


def _match_outcomes(
    root: Path, sets: dict[str, Path], stays: _Stays, ids: np.ndarray
) -> tuple[np.ndarray, list[str]]:
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


# ---------------------------------------------------------------------- building
def _build(root: Path, sets: dict[str, Path], progress: bool) -> MultimodalDataset:
    stays = _Stays()
    for letter, source in sets.items():
        _read_set(letter, source, stays, progress)
    rows, unknown_params, messages = _parse(stays)
    ids = _check_record_ids(stays, rows)
    death, outcome_messages = _match_outcomes(root, sets, stays, ids)
    messages += outcome_messages
    set_rank = {letter: k for k, letter in enumerate(sets)}
    order = np.lexsort((ids, [set_rank[x] for x in stays.letters]))  # by set, then RecordID
    order = order[death[order] >= 0]
    n = len(order)
    if not n:
        raise DataError(f"{root}: no stay has a row in its Outcomes file")
    index = np.full(len(ids), -1, dtype=np.int32)
    index[order] = np.arange(n)

    keep = (index[rows.file] >= 0) & (rows.code > CODE["RecordID"])
    stay, minute, code, value = index[rows.file[keep]], rows.minute[keep], rows.code[keep], rows.value[keep]
    del rows, keep
    cleaned = clean_values(code, value)
    good = ~np.isnan(value)
    is_static = code <= CODE[STATIC_PARAMS[-1]]  # codes 1..5: the static descriptors
    static_rows = good & is_static & ((code != CODE["Weight"]) | (minute == 0))  # later weights: vitals
    means, n_dupes = _mean_cells(stay[static_rows] * 5 + (code[static_rows] - 1), value[static_rows], n * 5)
    static = static_features(means.reshape(n, 5))
    data: dict[str, object] = {"static": static}
    mask = {"static": ~np.isnan(static).all(axis=1)}
    extra = {"units": {p: RANGES[p].unit for p in STATIC_PARAMS}, "coding": STATIC_CODING}
    specs = [ModalitySpec("static", "tabular", STATIC_FEATURES, static.shape[1:], extra=extra)]
    for name, channels in (("vitals", VITALS), ("labs", LABS)):
        lut = np.full(len(PARAMS), -1, dtype=np.int8)
        lut[[CODE[c] for c in channels]] = np.arange(len(channels))
        chan = lut[code]
        sel = good & (chan >= 0) & ~static_rows
        series, dupes = _series(stay[sel], minute[sel], chan[sel], value[sel], n, len(channels))
        n_dupes += dupes
        data[name], mask[name] = series, series.lengths > 0
        units = {c: RANGES[c].unit for c in channels}
        specs.append(ModalitySpec(name, "timeseries", channels, series.values.shape[1:], "hours", {"units": units}))

    info = {
        "source": SOURCE, "loader_version": LOADER_VERSION, "path": str(root),
        "sets": {letter: source.name for letter, source in sets.items()},
        "impossible_values": cleaned.impossible, "unknown_values": cleaned.unknown,
        "unknown_parameters": unknown_params, "fio2_percent_converted": cleaned.fio2_percent,
        "duplicates_averaged": int(n_dupes), "dropped_stays": int(len(ids) - n), "warnings": messages,
    }  # fmt: skip
    labels = Labels("binary", death[order], CLASS_NAMES)
    sample_ids, splits = ids[order].astype(str), np.asarray(stays.letters)[order]
    return MultimodalDataset(specs, data, mask, labels, sample_ids, sample_ids, splits, info)  # type: ignore[arg-type]


def _mean_cells(cell: np.ndarray, value: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Mean of ``value`` per ``cell`` (NaN where a cell has none) and the number of rows merged."""
    means = np.bincount(cell, weights=value, minlength=size)
    counts = np.bincount(cell, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means /= counts
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
