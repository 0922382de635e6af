"""Save and load a `MultimodalDataset` as ``arrays.npz`` + ``meta.json`` (no pickle)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import CacheError

FORMAT_VERSION = 1


def save_dataset(ds: MultimodalDataset, folder: Path) -> None:
    """Write ``ds`` into ``folder`` (which must exist); see :func:`load_dataset_npz`."""
    arrays: dict[str, np.ndarray] = {
        "sample_ids": ds.sample_ids,
        "groups": ds.groups,
        "mask": ds.mask,
        "y": ds.labels.y,
    }
    if ds.splits is not None:
        arrays["splits"] = ds.splits
    containers: dict[str, str] = {}
    for name, data in ds.data.items():
        if isinstance(data, IrregularSeries):
            containers[name] = "series"
            arrays[f"{name}/values"] = data.values
            arrays[f"{name}/times"] = data.times
            arrays[f"{name}/lengths"] = data.lengths
        elif isinstance(data, LazyFiles):
            containers[name] = "files"
            arrays[f"{name}/paths"] = data.paths.astype(str)
        else:
            containers[name] = "dense"
            arrays[f"{name}/values"] = data
    meta = {
        "format_version": FORMAT_VERSION,
        "specs": [s.to_dict() for s in ds.specs.values()],
        "containers": containers,
        "labels": ds.labels.to_dict(),
        "info": ds.info,
    }
    np.savez(folder / "arrays.npz", **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle
    (folder / "meta.json").write_text(json.dumps(meta, default=str))


def load_dataset_npz(folder: Path) -> MultimodalDataset:
    """Read a dataset written by :func:`save_dataset`; raises CacheError if unreadable."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise CacheError(f"{folder}: stored format {meta.get('format_version')} is outdated")
        with np.load(folder / "arrays.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise CacheError(f"{folder}: unreadable stored dataset ({exc})") from exc
    data: dict[str, ModalityData] = {}
    for name, container in meta["containers"].items():
        if container == "series":
            data[name] = IrregularSeries(arrays[f"{name}/values"], arrays[f"{name}/times"], arrays[f"{name}/lengths"])
        elif container == "files":
            data[name] = LazyFiles(arrays[f"{name}/paths"])
        else:
            data[name] = arrays[f"{name}/values"]
    return MultimodalDataset(
        specs=[ModalitySpec.from_dict(s) for s in meta["specs"]],
        data=data,
        mask=arrays["mask"],
        labels=Labels.from_dict(meta["labels"], arrays["y"]),
        sample_ids=arrays["sample_ids"],
        groups=arrays["groups"],
        splits=arrays.get("splits"),
        info=meta.get("info", {}),
    )
