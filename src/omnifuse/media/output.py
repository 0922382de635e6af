"""Write and read embedding files: an ``embedding`` modality of the generic folder format.

* ``.parquet`` / ``.csv``: ``sample_id`` then one column per dimension (``emb_000`` ...).
  Dropped into a cohort folder as ``<modality>.parquet`` it is a modality; failed items have
  no row, so the folder loader marks them absent. Declare ``<modality>: {kind: embedding}``
  in ``modalities.yaml`` to keep the vectors unstandardised (otherwise they load as tabular).
* ``.safetensors``: tensor ``embeddings`` ``(n, d)`` float32; the sample ids, the model,
  the settings and the failed items are in the header metadata (JSON strings).

Files are written atomically (a temporary sibling renamed into place).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from safetensors import safe_open
from safetensors.numpy import save

from omnifuse.errors import ConfigError, DataError
from omnifuse.media.extract import Embeddings
from omnifuse.media.sources import ID_COLUMN
from omnifuse.utils.atomic import atomic_file

OUTPUT_SUFFIXES = (".parquet", ".csv", ".safetensors")
FORMAT = "omnifuse-embeddings-1"


def check_output(path: str | Path) -> Path:
    """Fail early (before any extraction) on an output path that cannot be written.

    Raises:
        ConfigError: unknown suffix, an existing directory, or a location that is not writable.
    """
    out = Path(path).expanduser()
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory; --out takes a file name such as {out / 'cxr.parquet'}")
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"{out}: --out must end in {', '.join(OUTPUT_SUFFIXES)}")
    if out.exists() and not os.access(out, os.W_OK):
        raise ConfigError(f"{out}: the file exists and is not writable")
    parent = next((p for p in [out.parent, *out.parent.parents] if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{out}: cannot write in {parent} (not a writable directory)")
    return out


def feature_names(dim: int) -> list[str]:
    """Column names of an embedding of size ``dim``: ``emb_000``, ``emb_001``, ..."""
    width = max(3, len(str(dim - 1)))
    return [f"emb_{k:0{width}d}" for k in range(dim)]


def _metadata(emb: Embeddings) -> dict[str, str]:
    return {
        "format": FORMAT,
        "model": emb.model,
        "settings": json.dumps(emb.settings, sort_keys=True, default=str),
        "failed": json.dumps([name for name, _ in emb.failed]),
    }


def write_embeddings(emb: Embeddings, path: str | Path) -> Path:
    """Write ``emb`` to ``path`` (format by suffix: .parquet, .csv or .safetensors)."""
    out = check_output(path)
    suffix = out.suffix.lower()
    try:
        if suffix == ".safetensors":
            meta = {**_metadata(emb), "sample_ids": json.dumps(emb.sample_ids)}
            blob = save({"embeddings": np.ascontiguousarray(emb.vectors, dtype=np.float32)}, metadata=meta)
            with atomic_file(out, "wb") as handle:
                handle.write(blob)
            return out
        frame = pd.DataFrame(emb.vectors.astype(np.float32), columns=feature_names(emb.dim))
        frame.insert(0, ID_COLUMN, emb.sample_ids)
        if suffix == ".csv":
            with atomic_file(out, "w") as handle:
                frame.to_csv(handle, index=False, float_format="%.8g")
            return out
        table = pa.Table.from_pandas(frame, preserve_index=False)
        schema_meta = {**(table.schema.metadata or {}), b"omnifuse": json.dumps(_metadata(emb)).encode()}
        with atomic_file(out, "wb") as handle:
            pq.write_table(table.replace_schema_metadata(schema_meta), handle)
        return out
    except OSError as exc:
        raise ConfigError(f"{out}: cannot be written ({exc.strerror or exc})") from exc


def read_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    """``(sample_ids, vectors)`` of an embedding file written by :func:`write_embeddings`."""
    src = Path(path).expanduser()
    if not src.is_file():
        raise DataError(f"{src}: no such file")
    if src.suffix.lower() == ".safetensors":
        with safe_open(str(src), framework="numpy") as handle:
            meta = handle.metadata() or {}
            if "sample_ids" not in meta:
                raise DataError(f"{src}: no sample_ids in the safetensors metadata (not an omnifuse embedding file)")
            return list(json.loads(meta["sample_ids"])), handle.get_tensor("embeddings")
    frame = pd.read_parquet(src) if src.suffix.lower() == ".parquet" else pd.read_csv(src, dtype={ID_COLUMN: str})
    if ID_COLUMN not in frame.columns:
        raise DataError(f"{src}: no '{ID_COLUMN}' column")
    values = frame.drop(columns=[ID_COLUMN]).to_numpy(dtype=np.float32)
    return frame[ID_COLUMN].astype(str).tolist(), values
