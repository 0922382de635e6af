"""Write any `MultimodalDataset` in the generic folder format (``omnifuse data convert``)."""

from __future__ import annotations

import warnings

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from omnifuse.data.arrays import IrregularSeries, LazyFiles
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import MULTILABEL_SEPARATOR
from omnifuse.data.loaders.folder import ID_COLUMN, LABELS_FILE, TIME_COLUMN
from omnifuse.data.loaders.folder_config import CONFIG_FILE, DEFAULT_EVENT_COLUMN, DEFAULT_TIME_COLUMN
from omnifuse.errors import ConfigError, DataWarning
from omnifuse.utils.atomic import atomic_dir

FORMATS = ("csv", "parquet")


def write_folder(ds: MultimodalDataset, out: str | Path, fmt: str = "csv", overwrite: bool = False) -> Path:
    """Write ``ds`` to ``out``; nothing is left behind if writing fails.

    Absent modalities are simply not written (the row is missing from that file).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format '{fmt}' (valid: {', '.join(FORMATS)})")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out}: directory exists and is not empty (use --overwrite to replace it)")
    with atomic_dir(out, overwrite=True) as tmp:
        _labels_frame(ds).to_csv(tmp / LABELS_FILE, index=False)
        declarations = {}
        for j, name in enumerate(ds.modalities):
            spec = ds.specs[name]
            if not ds.mask[:, j].any():  # a header-only file would not load back
                warnings.warn(f"modality '{name}' is absent for every sample: not written", DataWarning, stacklevel=2)
                continue
            frame = _modality_frame(ds, name, ds.mask[:, j])
            target = tmp / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(target, index=False)
            else:
                frame.to_csv(target, index=False)
            entry = {"kind": spec.kind}
            if spec.time_unit:
                entry["time_unit"] = spec.time_unit
            if spec.kind in ("image", "text"):
                entry["column"] = frame.columns[1]
            declarations[name] = entry
        (tmp / CONFIG_FILE).write_text(
            yaml.safe_dump({**_task_declaration(ds), "modalities": declarations}, sort_keys=True)
        )
    return out


def _task_declaration(ds: MultimodalDataset) -> dict[str, str]:
    """The modalities.yaml keys that say how labels.csv holds the labels."""
    if ds.task == "survival":
        return {"task": "survival", "time_unit": str(ds.labels.time_unit)}
    return {"label": "label"}


def _labels_frame(ds: MultimodalDataset) -> pd.DataFrame:
    if ds.task == "survival":
        frame = pd.DataFrame(
            {
                ID_COLUMN: ds.sample_ids,
                DEFAULT_TIME_COLUMN: ds.labels.time,
                DEFAULT_EVENT_COLUMN: ds.labels.event.astype(np.int64),
            }
        )
    else:
        frame = pd.DataFrame({ID_COLUMN: ds.sample_ids, "label": _label_column(ds)})
    if ds.splits is not None:
        frame["split"] = ds.splits
    if not np.array_equal(ds.groups, ds.sample_ids):
        frame["group"] = ds.groups
    return frame


def _label_column(ds: MultimodalDataset) -> list[str]:
    names = np.array(ds.class_names, dtype=object)
    if ds.task == "multilabel":
        return [MULTILABEL_SEPARATOR.join(names[row.astype(bool)]) for row in ds.y]
    return names[ds.y].tolist()


def _modality_frame(ds: MultimodalDataset, name: str, present: np.ndarray) -> pd.DataFrame:
    spec, data = ds.specs[name], ds.data[name]
    ids = ds.sample_ids[present]
    if isinstance(data, IrregularSeries):
        sub = data.take(np.flatnonzero(present))
        step = sub.step_mask & sub.observed.any(axis=2)
        sample, t = np.nonzero(step)
        frame = pd.DataFrame(sub.values[sample, t], columns=list(spec.feature_names))
        frame.insert(0, TIME_COLUMN, sub.times[sample, t])
        frame.insert(0, ID_COLUMN, ids[sample])
        return frame
    if isinstance(data, LazyFiles):
        return pd.DataFrame({ID_COLUMN: ids, "path": data.paths[present]})
    if data.dtype.kind in "US":
        return pd.DataFrame({ID_COLUMN: ids, spec.feature_names[0] if spec.feature_names else "text": data[present]})
    flat = data[present].reshape(int(present.sum()), -1)
    columns = (
        list(spec.feature_names)
        if len(spec.feature_names) == flat.shape[1]
        else [f"f{k}" for k in range(flat.shape[1])]
    )
    frame = pd.DataFrame(flat, columns=columns)
    frame.insert(0, ID_COLUMN, ids)
    return frame
