"""The generic folder format: one file per modality plus ``labels.csv``.

Layout::

    cohort/
      labels.csv          sample_id,label[,split][,group]   (survival: sample_id,time,event[,...])
      <modality>.csv      sample_id, then numeric features (or .parquet)
      <series>.csv        sample_id,time, then channels: a long-format time series
      modalities.yaml     optional: kinds, label column, task: survival (see folder_config)

A sample missing from a modality file, or whose row is all empty, has that modality
absent. Every CSV row has the header's number of fields (a ragged row is an error naming the
file and line). Ids found in a modality file but not in labels.csv are dropped with a warning, as are
labelled samples that have no data at all.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData
from omnifuse.data.cache import cached, content_key
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels, labels_from_values, survival_from_values
from omnifuse.data.loaders.folder_config import (
    CONFIG_FILE, DEFAULT_EVENT_COLUMN, DEFAULT_TIME_COLUMN, FolderConfig, ModalityDeclaration, read_folder_config,
)  # fmt: skip
from omnifuse.data.loaders.folder_csv import check_field_counts
from omnifuse.data.spec import SEQUENCE_KINDS, ModalitySpec
from omnifuse.errors import DataError, DataWarning

LABELS_FILE = "labels.csv"
ID_COLUMN = "sample_id"
#: Optional per-sample descriptors for subgroup audits (sex, site, ...): not a modality.
SUBGROUPS_FILE = "subgroups.csv"
TIME_COLUMN = "time"
RESERVED_LABEL_COLUMNS = {ID_COLUMN, "split", "group"}
MODALITY_SUFFIXES = (".csv", ".parquet")
LOADER_VERSION = "folder-1"


def is_folder_dataset(path: Path) -> bool:
    """True when ``path`` is a directory holding ``labels.csv``."""
    return path.is_dir() and (path / LABELS_FILE).is_file()


def modality_files(folder: Path) -> dict[str, Path]:
    """Modality name -> file, for every ``*.csv``/``*.parquet`` other than labels.csv and
    subgroups.csv."""
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in MODALITY_SUFFIXES or path.name in (LABELS_FILE, SUBGROUPS_FILE):
            continue
        if path.stem in files:
            raise DataError(f"{folder}: modality '{path.stem}' has two files ({files[path.stem].name}, {path.name})")
        files[path.stem] = path
    return files


def load_folder(folder: Path, use_cache: bool = True) -> MultimodalDataset:
    """Load a cohort in the generic folder format (cached by file contents)."""
    folder = Path(folder)
    files = modality_files(folder)
    if not files:
        raise DataError(f"{folder}: no modality files (*.csv or *.parquet besides {LABELS_FILE})")
    if not use_cache:
        return _build(folder, files)
    sources = [folder / LABELS_FILE, *files.values()]
    if (folder / CONFIG_FILE).exists():
        sources.append(folder / CONFIG_FILE)
    key = content_key(sources, LOADER_VERSION, str(folder.resolve()))
    return cached("folder", key, lambda: _build(folder, files))


def _build(folder: Path, files: dict[str, Path]) -> MultimodalDataset:
    config = read_folder_config(folder)
    unknown = sorted(set(config.modalities) - set(files))
    if unknown:
        raise DataError(
            f"{folder / CONFIG_FILE}: declares modality '{unknown[0]}' but there is no "
            f"{unknown[0]}.csv or .parquet (files: {', '.join(sorted(files))})"
        )
    table = _read_labels(folder / LABELS_FILE, config)
    ids = table[ID_COLUMN].to_numpy(dtype=str)
    position = pd.Index(ids)
    specs, data, mask = [], {}, {}
    for name, path in files.items():
        declared = config.modalities.get(name, ModalityDeclaration())
        frame = _read_table(path)
        frame = _keep_labelled(frame, position, path)
        spec, values, present = _read_modality(name, path, frame, declared, position, folder)
        specs.append(spec)
        data[name], mask[name] = values, present
    has_any = np.any(np.stack(list(mask.values()), axis=1), axis=1)
    if not has_any.all():
        missing = ids[~has_any]
        warnings.warn(
            f"{folder / LABELS_FILE}: {len(missing)} labelled sample(s) have no data in any "
            f"modality file and are dropped (first: {', '.join(missing[:5])})",
            DataWarning,
            stacklevel=3,
        )
    ds = MultimodalDataset(
        specs=specs,
        data=data,
        mask=mask,
        labels=_labels(table, config, folder / LABELS_FILE),
        sample_ids=ids,
        groups=table["group"].to_numpy(dtype=str) if "group" in table else None,
        splits=table["split"].to_numpy(dtype=str) if "split" in table else None,
        info={"source": "folder", "path": str(folder)},
    )
    return ds if has_any.all() else ds.subset(has_any)


# ---------------------------------------------------------------------- labels
def _read_labels(path: Path, config: FolderConfig) -> pd.DataFrame:
    frame = _read_table(path)
    _check_unique_ids(frame, path)
    if config.task == "survival":
        return _read_survival_columns(frame, path, config)
    columns = [c for c in frame.columns if c != ID_COLUMN]
    if config.label is not None:
        label = config.label
        if label not in frame.columns:
            raise DataError(f"{path}: no column '{label}' (declared as label in {CONFIG_FILE})")
    elif "label" in frame.columns:
        label = "label"
    else:
        candidates = [c for c in columns if c not in RESERVED_LABEL_COLUMNS]
        if len(candidates) != 1:
            survival = {DEFAULT_TIME_COLUMN, DEFAULT_EVENT_COLUMN} <= set(candidates)
            raise DataError(
                f"{path}: cannot tell the label column among {candidates or 'no columns'}; "
                f"name it 'label' or declare 'label:' in {CONFIG_FILE}"
                + ("; for survival data declare 'task: survival' and 'time_unit:' there" if survival else "")
            )
        label = candidates[0]
    empty = frame[label].isna() | (frame[label].astype(str).str.strip() == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(
            f"{path}: row {row + 2} (sample '{frame[ID_COLUMN].iloc[row]}') has no label in column '{label}'"
        )
    _check_split_group(frame, path)
    out = frame.rename(columns={label: "__label__"})
    return out


def _check_split_group(frame: pd.DataFrame, path: Path) -> None:
    for column in ("split", "group"):
        if column in frame and frame[column].isna().any():
            row = int(np.flatnonzero(frame[column].isna().to_numpy())[0])
            raise DataError(f"{path}: row {row + 2} has an empty '{column}'")


def _read_survival_columns(frame: pd.DataFrame, path: Path, config: FolderConfig) -> pd.DataFrame:
    """The labels table of a ``task: survival`` cohort, time and event as ``__time__``/``__event__``."""
    for column, what in ((config.time_column, "time"), (config.event_column, "event")):
        if column not in frame.columns:
            raise DataError(
                f"{path}: no column '{column}' (the survival {what}); name the column holding it "
                f"with '{what}:' in {CONFIG_FILE}"
            )
    _check_split_group(frame, path)
    return frame.rename(columns={config.time_column: "__time__", config.event_column: "__event__"})


def _labels(table: pd.DataFrame, config: FolderConfig, path: Path) -> Labels:
    """The labels of the rows of ``table`` (see :func:`_read_labels`)."""
    if config.task != "survival":
        return labels_from_values(table["__label__"].tolist(), source=str(path))
    assert config.time_unit is not None  # FolderConfig requires one for survival
    return survival_from_values(
        table["__time__"].tolist(),
        table["__event__"].tolist(),
        time_unit=config.time_unit,
        source=str(path),
        rows=(table.index + 2).tolist(),
        ids=table[ID_COLUMN].tolist(),
        columns=(config.time_column, config.event_column),
    )


# ---------------------------------------------------------------------- tables
def _read_table(path: Path) -> pd.DataFrame:
    """Read a CSV/Parquet file whose first column is sample_id; check field counts and ids."""
    try:
        if path.suffix.lower() == ".parquet":
            frame = pd.read_parquet(path).reset_index(drop=True)
        else:
            raw = path.read_bytes()
            check_field_counts(path, raw)
            frame = pd.read_csv(io.BytesIO(raw), dtype={ID_COLUMN: str}, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: cannot be read ({str(exc).splitlines()[0]})") from exc
    if len(frame.columns) == 0 or frame.columns[0] != ID_COLUMN:
        first = frame.columns[0] if len(frame.columns) else "nothing"
        raise DataError(f"{path}: the first column must be '{ID_COLUMN}', found '{first}'")
    if len(frame) == 0:
        raise DataError(f"{path}: the file has a header but no rows")
    ids = frame[ID_COLUMN]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(f"{path}: row {row + 2} has an empty {ID_COLUMN}")
    frame[ID_COLUMN] = ids.astype(str).str.strip()
    return frame


def _keep_labelled(frame: pd.DataFrame, position: pd.Index, path: Path) -> pd.DataFrame:
    known = frame[ID_COLUMN].isin(position)
    if not known.all():
        extra = frame.loc[~known, ID_COLUMN].unique()
        warnings.warn(
            f"{path}: {len(extra)} sample id(s) not in {LABELS_FILE} are ignored "
            f"(first: {', '.join(map(str, extra[:5]))})",
            DataWarning,
            stacklevel=4,
        )
        frame = frame[known]
    return frame


def _numeric(frame: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    """Columns as float32; names file, row and column of the first bad value."""
    values = np.empty((len(frame), len(columns)), dtype=np.float32)
    for k, column in enumerate(columns):
        raw = frame[column]
        converted = pd.to_numeric(raw, errors="coerce")
        bad = converted.isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{path}: row {frame.index[row] + 2}, column '{column}': non-numeric value {str(raw.iloc[row])!r}"
            )
        arr = converted.to_numpy(dtype=np.float64)
        if np.isinf(arr).any():
            row = int(np.flatnonzero(np.isinf(arr))[0])
            raise DataError(f"{path}: row {frame.index[row] + 2}, column '{column}': infinite value")
        values[:, k] = arr
    return values


# ---------------------------------------------------------------------- modalities
def _read_modality(
    name: str,
    path: Path,
    frame: pd.DataFrame,
    declared: ModalityDeclaration,
    position: pd.Index,
    folder: Path,
) -> tuple[ModalitySpec, ModalityData, np.ndarray]:
    n = len(position)
    features = [c for c in frame.columns if c != ID_COLUMN]
    if declared.kind in SEQUENCE_KINDS or (len(features) > 0 and features[0] == TIME_COLUMN):
        return _read_long_series(name, path, frame, declared, position)
    _check_unique_ids(frame, path)
    rows = position.get_indexer(frame[ID_COLUMN])
    if declared.kind in ("image", "text"):
        column = declared.column or (features[0] if len(features) == 1 else None)
        if column is None or column not in frame.columns:
            raise DataError(f"{path}: name the column holding the {declared.kind} with 'column:' in {CONFIG_FILE}")
        raw = frame[column].astype("string").fillna("").str.strip().to_numpy(dtype=str)
        present = np.zeros(n, dtype=bool)
        present[rows] = raw != ""
        if declared.kind == "image":
            paths = np.full(n, "", dtype=object)
            paths[rows] = [str((folder / p).resolve()) if p else "" for p in raw]
            container: ModalityData = LazyFiles(paths.astype(str))
        else:
            texts = np.full(n, "", dtype=object)
            texts[rows] = raw
            container = texts.astype(str)
        return ModalitySpec(name, declared.kind, (column,), ()), container, present
    if not features:
        raise DataError(f"{path}: no feature columns after {ID_COLUMN}")
    values = _numeric(frame, features, path)
    full = np.full((n, len(features)), np.nan, dtype=np.float32)
    full[rows] = values
    present = np.zeros(n, dtype=bool)
    present[rows] = ~np.isnan(values).all(axis=1)
    spec = ModalitySpec(name, declared.kind, tuple(features), (len(features),))
    return spec, full, present


def _check_unique_ids(frame: pd.DataFrame, path: Path) -> None:
    dup = frame[ID_COLUMN].duplicated(keep=False)
    if dup.any():
        rows = np.flatnonzero(dup.to_numpy())[:2]
        sid = frame[ID_COLUMN].iloc[rows[0]]
        raise DataError(
            f"{path}: duplicate sample id '{sid}' (rows {', '.join(str(frame.index[r] + 2) for r in rows)})"
        )


def _read_long_series(
    name: str, path: Path, frame: pd.DataFrame, declared: ModalityDeclaration, position: pd.Index
) -> tuple[ModalitySpec, ModalityData, np.ndarray]:
    """Long format (sample_id, time, channels...) to a padded IrregularSeries."""
    if TIME_COLUMN not in frame.columns:
        raise DataError(f"{path}: a {declared.kind} file needs a '{TIME_COLUMN}' column after {ID_COLUMN}")
    channels = [c for c in frame.columns if c not in (ID_COLUMN, TIME_COLUMN)]
    if not channels:
        raise DataError(f"{path}: no channel columns after '{TIME_COLUMN}'")
    times = _numeric(frame, [TIME_COLUMN], path)[:, 0]
    if np.isnan(times).any():
        row = int(np.flatnonzero(np.isnan(times))[0])
        raise DataError(f"{path}: row {frame.index[row] + 2} has no time")
    values = _numeric(frame, channels, path)
    keep = ~np.isnan(values).all(axis=1)
    codes = position.get_indexer(frame[ID_COLUMN])[keep]
    times, values = times[keep], values[keep]
    order = np.lexsort((times, codes))
    codes, times, values = codes[order], times[order], values[order]
    n = len(position)
    lengths = np.bincount(codes, minlength=n).astype(np.int64)
    max_steps = max(1, int(lengths.max()) if len(lengths) else 1)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(len(codes)) - starts[codes]
    padded = np.full((n, max_steps, len(channels)), np.nan, dtype=np.float32)
    padded_times = np.full((n, max_steps), np.nan, dtype=np.float32)
    padded[codes, steps] = values
    padded_times[codes, steps] = times
    spec = ModalitySpec(
        name,
        declared.kind if declared.kind in SEQUENCE_KINDS else "timeseries",
        tuple(channels),
        (max_steps, len(channels)),
        time_unit=declared.time_unit or "hours",
    )
    return spec, IrregularSeries(padded, padded_times, lengths), lengths > 0
