"""Per-item embedding cache: safetensors shards keyed by content hash.

One folder per extraction setting (model files, image size, pooling, token length, ...)
under ``<omnifuse cache>/embeddings/<settings key>/``; inside, ``shard-*.safetensors`` files
each hold ``keys`` (``(n, 32)`` uint8: SHA-256 of an item's bytes) and ``vectors``
(``(n, d)`` float32). New embeddings are appended as new shards (written atomically, every
:data:`SHARD_ROWS` items and at the end), so an interrupted run keeps what it computed and
two runs never write the same file. An unreadable shard is ignored (its items are computed
again); an unwritable cache never fails an extraction.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from omnifuse.data.cache import cache_root

SHARD_ROWS = 4096
STORE_VERSION = "embeddings-1"


def item_key(kind: str, content: bytes) -> bytes:
    """The 32-byte cache key of one item: SHA-256 of its kind and bytes."""
    return hashlib.sha256(kind.encode() + b"\0" + content).digest()


def settings_key(settings: dict[str, Any]) -> str:
    """A short stable hash of everything that changes an embedding."""
    text = json.dumps({"store": STORE_VERSION, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class EmbeddingStore:
    """The cached embeddings of one extraction setting.

    Args:
        folder: the setting's folder (created on the first write).
        settings: written to ``settings.json`` beside the shards, for humans.
    """

    def __init__(self, folder: Path, settings: dict[str, Any] | None = None) -> None:
        self.folder = folder
        self.settings = settings or {}
        self._index: dict[bytes, tuple[Path, int]] = {}
        self._pending: dict[bytes, np.ndarray] = {}
        self._writable = True
        for shard in sorted(folder.glob("shard-*.safetensors")) if folder.is_dir() else []:
            self._index_shard(shard)

    @classmethod
    def open(cls, settings: dict[str, Any]) -> "EmbeddingStore | None":
        """The store of ``settings`` in the omnifuse cache, or None when caching is off."""
        root = cache_root()
        if root is None:
            return None
        return cls(root / "embeddings" / settings_key(settings), settings)

    def __len__(self) -> int:
        return len(self._index) + len(self._pending)

    def _index_shard(self, shard: Path) -> None:
        try:
            with safe_open(str(shard), framework="numpy") as handle:
                keys = handle.get_tensor("keys")
        except (OSError, SafetensorError, KeyError, ValueError):
            return
        for row, key in enumerate(keys):
            self._index[key.tobytes()] = (shard, row)

    def lookup(self, keys: list[bytes]) -> dict[int, np.ndarray]:
        """Position in ``keys`` -> cached vector, for the keys that are cached."""
        found: dict[int, np.ndarray] = {}
        by_shard: dict[Path, list[tuple[int, int]]] = {}
        for position, key in enumerate(keys):
            if key in self._pending:
                found[position] = self._pending[key]
            elif key in self._index:
                shard, row = self._index[key]
                by_shard.setdefault(shard, []).append((position, row))
        for shard, wanted in by_shard.items():
            try:
                with safe_open(str(shard), framework="numpy") as handle:
                    vectors = handle.get_slice("vectors")
                    for position, row in wanted:
                        found[position] = np.asarray(vectors[row : row + 1], dtype=np.float32)[0]
            except (OSError, SafetensorError, KeyError, ValueError):
                continue  # a damaged shard: its items are computed again
        return found

    def add(self, keys: list[bytes], vectors: np.ndarray) -> None:
        """Remember new embeddings; written to a shard every :data:`SHARD_ROWS` items."""
        for key, vector in zip(keys, np.asarray(vectors, dtype=np.float32)):
            if key not in self._index:
                self._pending[key] = vector
        if len(self._pending) >= SHARD_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the pending embeddings as a new shard (silently skipped if unwritable)."""
        if not self._pending or not self._writable:
            return
        keys = np.frombuffer(b"".join(self._pending), dtype=np.uint8).reshape(len(self._pending), 32)
        vectors = np.stack(list(self._pending.values())).astype(np.float32)
        shard = self.folder / f"shard-{uuid.uuid4().hex}.safetensors"
        tmp = shard.with_name(f".{shard.name}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            save_file({"keys": keys, "vectors": vectors}, str(tmp))
            os.replace(tmp, shard)
            info = self.folder / "settings.json"
            if not info.exists():
                info.write_text(json.dumps(self.settings, indent=2, sort_keys=True, default=str))
        except OSError:
            self._writable = False
            tmp.unlink(missing_ok=True)
            return
        for row, key in enumerate(self._pending):
            self._index[key] = (shard, row)
        self._pending.clear()
