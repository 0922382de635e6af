"""Cache of parsed cohorts, keyed by the content of the source files.

Caches live in ``$OMNIFUSE_CACHE``, else ``$XDG_CACHE_HOME/omnifuse``, else
``~/.cache/omnifuse``: never beside the user's data, which may be read-only.
Setting ``OMNIFUSE_CACHE=off`` disables caching.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.storage import load_dataset_npz, save_dataset
from omnifuse.errors import CacheError, DataWarning
from omnifuse.utils.atomic import atomic_dir

_CHUNK = 1 << 20


def cache_root() -> Path | None:
    """The cache directory, or None when caching is switched off."""
    explicit = os.environ.get("OMNIFUSE_CACHE")
    if explicit is not None:
        return None if explicit.strip().lower() in {"", "off", "0", "none"} else Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "omnifuse"


def content_key(files: Iterable[Path], *extra: str) -> str:
    """SHA-256 over the names and bytes of ``files`` (sorted) plus ``extra`` strings."""
    digest = hashlib.sha256()
    for part in extra:
        digest.update(part.encode())
        digest.update(b"\0")
    for path in sorted(Path(f) for f in files):
        digest.update(path.name.encode())
        digest.update(b"\0")
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()[:32]


def cached(kind: str, key: str, build: Callable[[], MultimodalDataset]) -> MultimodalDataset:
    """Return the cached dataset for ``key``, or build it, store it and return it.

    An unreadable or unwritable cache never fails a load: the dataset is rebuilt.
    """
    root = cache_root()
    if root is None:
        return build()
    folder = root / kind / key
    if (folder / "meta.json").exists():
        try:
            ds = load_dataset_npz(folder)
        except CacheError:
            pass
        else:
            for message in ds.info.get("load_warnings", []):
                warnings.warn(message, DataWarning, stacklevel=2)
            return ds
    ds = _build_keeping_warnings(build)
    try:
        with atomic_dir(folder, overwrite=True) as tmp:
            save_dataset(ds, tmp)
    except OSError:
        pass
    return ds


def _build_keeping_warnings(build: Callable[[], MultimodalDataset]) -> MultimodalDataset:
    """Run ``build``, re-emit its warnings and keep their text in ``info["load_warnings"]``.

    A later load from the cache repeats them, so a user never loses a data warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = build()
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if messages:
        ds.info["load_warnings"] = messages
    return ds
