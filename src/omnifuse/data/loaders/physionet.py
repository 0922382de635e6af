"""Loader of the PhysioNet/CinC Challenge 2012 data (ICU stays, in-hospital mortality).

A PhysioNet 2012 directory holds, per set letter X, ``set-X/`` or ``set-X.tar.gz`` (one
``<RecordID>.txt`` per stay: ``Time,Parameter,Value`` with Time ``HH:MM`` since ICU admission)
and ``Outcomes-X.txt`` (``RecordID,...,In-hospital_death``).

Modalities: ``static`` (tabular: Age, Gender, Height, Weight, ICUType one-hot), ``vitals`` and
``labs`` (time series in hours since admission, NaN = unobserved). Values outside the ranges
of :mod:`omnifuse.data.loaders.physionet_ranges` are counted in ``info["impossible_values"]``
and treated as unobserved. Unusable lines (no or an unknown parameter name, a bad time, a
non-numeric value) are skipped the same way: counted in ``info["skipped_lines"]`` and reported
once per load (see :mod:`omnifuse.data.loaders.physionet_lines`); ``strict=True`` refuses them.

Speed: the stay files are read as bytes, joined into one buffer (``HH:MM`` becomes two numeric
columns) and parsed by one ``pandas.read_csv`` call; padded arrays are built with vectorised
numpy. Only when that parse fails are the lines re-read one by one, to find the bad lines.
"""

from __future__ import annotations

import csv
import gzip
import re
import tarfile
import warnings
import zlib
from collections import Counter
from io import BytesIO
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import numpy as np
import pandas as pd

from omnifuse.data.cache import cached, content_key
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.loaders.physionet_arrays import _mean_cells, _series
from omnifuse.data.loaders.physionet_lines import SHOWN, Problem, check_line, drop_bad_lines, summarise, warning_text
from omnifuse.data.loaders.physionet_outcomes import OUTCOME_COLUMN  # noqa: F401  (re-exported)
from omnifuse.data.loaders.physionet_outcomes import _OUTCOMES, _match_outcomes
from omnifuse.data.loaders.physionet_ranges import (
    CODE, LABS, PARAMS, RANGES, STATIC_CODING, STATIC_FEATURES, STATIC_PARAMS, VITALS, clean_values,
    static_features,
)  # fmt: skip
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import DataError, DataWarning
from omnifuse.utils.progress import track

LOADER_VERSION = "physionet2012-2"
SOURCE = "physionet2012"
CLASS_NAMES = ("survived", "died")
_HEADER = b"time,parameter,value"
_SET_DIR = re.compile(r"^set-([A-Za-z0-9]+)$")
_SET_TAR = re.compile(r"^set-([A-Za-z0-9]+)\.tar\.gz$")
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


def load_physionet2012(
    path: str | Path, use_cache: bool = True, progress: bool = False, strict: bool = False
) -> MultimodalDataset:
    """Load the PhysioNet/CinC 2012 stays under ``path`` (``set-X/`` folders and/or ``.tar.gz``).

    Label: In-hospital_death (classes "survived", "died"); splits: the set letter; sample ids and
    groups: the RecordID. Cached by file contents unless ``use_cache`` is False; ``progress``
    shows a progress bar over the stay files. Raises DataError on bad input. Unusable lines
    (empty or unknown parameter name, bad time, non-numeric value) are skipped and counted in
    ``info["skipped_lines"]`` with one summary DataWarning, unless ``strict`` (then the first
    one is a DataError naming its file and line). Dropped stays and skipped lines are reported
    again on loads from the cache.
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
        ds = cached(SOURCE, _cache_key(root, sets), lambda: _build(root, sets, progress, strict))
    else:
        ds = _build(root, sets, progress, strict)
    skipped = ds.info.get("skipped_lines") or {}
    if strict and skipped.get("first_error"):  # a tolerant load cached these rows
        raise DataError(skipped["first_error"])
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

    def __init__(self, root: Path) -> None:
        self.root = root
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


def _parse(stays: _Stays) -> tuple[_Rows, dict[str, int], dict[str, Any]]:
    """Parse all stay bodies at once; unusable lines are skipped, counted and summarised.

    Returns the rows, the unknown parameters (rows per name) and ``info["skipped_lines"]``.
    """
    if not any(stays.bodies):
        raise DataError(f"{stays.names[0]}: no RecordID row")
    parsed, malformed = _read_rows(stays), []
    if parsed is None:  # rare: find the bad lines one by one, drop them and parse again
        malformed = drop_bad_lines(stays)
        if not any(stays.bodies):
            raise DataError(f"{stays.names[0]}: no RecordID row")
        parsed = _read_rows(stays)
        if parsed is None:
            _diagnose(stays, "inconsistent rows")
    hours, minutes, value, categories, category_codes = parsed
    counts = np.fromiter((b.count(b"\n") for b in stays.bodies), dtype=np.int64, count=len(stays.bodies))
    starts = np.concatenate([[0], np.cumsum(counts)])
    stays.bodies = []  # parsed: free the text (line numbers stay in line_maps)
    lut = np.array([CODE.get(c, -1) for c in categories], dtype=np.int16)
    file = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    unknown = {categories[k]: int((category_codes == k).sum()) for k in np.flatnonzero(lut < 0)}
    places = list(malformed)
    for r in np.flatnonzero(lut[category_codes] < 0)[:SHOWN]:
        f = int(file[r])
        line = stays.line(f, int(r - starts[f]))
        name = categories[category_codes[r]]
        places.append(Problem(f, line, "unknown name", f"line {line}: unknown parameter '{name}'"))
    tally = Counter(p.kind for p in malformed)
    tally["unknown name"] += sum(unknown.values())
    skipped = summarise(places, dict(tally), stays.names, stays.root)
    return _Rows(file, hours * 60 + minutes, lut[category_codes], value, starts), unknown, skipped


def _read_rows(stays: _Stays) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], np.ndarray] | None:
    """Hours, minutes, values, parameter names and name codes of all rows; None when a line is bad."""
    n_rows = sum(b.count(b"\n") for b in stays.bodies)
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
    except (ValueError, UnicodeDecodeError, OverflowError, pd.errors.ParserError):
        return None
    hours, minutes, value = frame["h"].to_numpy(), frame["m"].to_numpy(), frame["v"].to_numpy()
    categories = [str(c).strip() for c in frame["p"].cat.categories]
    if (
        len(frame) != n_rows
        or "" in categories
        or not np.isfinite(value).all()
        or (hours < 0).any()
        or ((minutes < 0) | (minutes > 59)).any()
    ):
        return None
    return hours, minutes, value, categories, frame["p"].cat.codes.to_numpy()


def _diagnose(stays: _Stays, reason: str) -> NoReturn:
    """Raise a DataError naming the first bad line (or, failing that, the files)."""
    for f, body in enumerate(stays.bodies):
        for k, line in enumerate(body.decode("utf-8", "replace").split("\n")[:-1]):
            found = check_line(line)
            if found:
                raise DataError(f"{stays.names[f]}: line {stays.line(f, k)}: {found[1]}")
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


# ---------------------------------------------------------------------- building
def _build(root: Path, sets: dict[str, Path], progress: bool, strict: bool = False) -> MultimodalDataset:
    stays = _Stays(root)
    for letter, source in sets.items():
        _read_set(letter, source, stays, progress)
    rows, unknown_params, skipped = _parse(stays)
    if strict and skipped["first_error"]:
        raise DataError(skipped["first_error"])
    messages = [warning_text(root, skipped, unknown_params)] if skipped["total"] else []
    ids = _check_record_ids(stays, rows)
    death, outcome_messages = _match_outcomes(root, sets, stays, ids)
    messages += outcome_messages
    set_rank = {letter: k for k, letter in enumerate(sets)}
    order = np.lexsort((ids, np.array([set_rank[x] for x in stays.letters])))  # by set, then RecordID
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
        "unknown_parameters": unknown_params, "skipped_lines": skipped,
        "fio2_percent_converted": cleaned.fio2_percent, "duplicates_averaged": int(n_dupes), "dropped_stays": int(len(ids) - n), "warnings": messages,
    }  # fmt: skip
    labels = Labels("binary", death[order], CLASS_NAMES)
    sample_ids, splits = ids[order].astype(str), np.asarray(stays.letters)[order]
    return MultimodalDataset(specs, data, mask, labels, sample_ids, sample_ids, splits, info)  # type: ignore[arg-type]
