"""Batched, cached feature extraction with per-item failure isolation.

Items are processed in batches: their bytes are read and hashed, cached embeddings are
taken from the :class:`~omnifuse.media.store.EmbeddingStore`, the others are decoded (in a
few threads) and embedded by the extractor, then cached. An item that cannot be read or
prepared is reported with a :class:`~omnifuse.errors.DataWarning` naming it and is absent
from the result (never a zero vector); the others continue. If every item fails, a
:class:`~omnifuse.errors.DataError` is raised.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnifuse.errors import DataError, DataWarning
from omnifuse.media.extractors import Extractor
from omnifuse.media.sources import MediaItem
from omnifuse.media.store import EmbeddingStore, item_key
from omnifuse.utils.progress import progress_bar

SHOWN_FAILURES = 5


@dataclass
class Embeddings:
    """The result of an extraction.

    Attributes:
        sample_ids: ids of the embedded items, in input order (failed items are absent).
        vectors: ``(len(sample_ids), dim)`` float32.
        failed: ``(item name, reason)`` of every item that could not be embedded.
        model: the model as the user named it.
        settings: what the embeddings depend on (model fingerprint, sizes, pooling, ...).
        n_cached, n_computed: how many came from the cache / were computed now.
        seconds: wall time of the extraction.
    """

    sample_ids: list[str]
    vectors: np.ndarray
    failed: list[tuple[str, str]] = field(default_factory=list)
    model: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    n_cached: int = 0
    n_computed: int = 0
    seconds: float = 0.0

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.vectors.shape[1])

    def failure_summary(self) -> str:
        """``"N item(s) failed ... (first: a, b)"``, or an empty string."""
        if not self.failed:
            return ""
        total = len(self.sample_ids) + len(self.failed)
        first = ", ".join(name for name, _ in self.failed[:SHOWN_FAILURES])
        more = ", ..." if len(self.failed) > SHOWN_FAILURES else ""
        return f"{len(self.failed)} of {total} item(s) failed and are absent from the output (first: {first}{more})"


def extract(
    items: Sequence[MediaItem],
    extractor: Extractor,
    batch_size: int = 32,
    use_cache: bool = True,
    progress: bool = False,
    workers: int | None = None,
) -> Embeddings:
    """Embed ``items`` with ``extractor`` in batches of ``batch_size``.

    Raises:
        DataError: no items, or every item failed.
    """
    if not items:
        raise DataError("nothing to extract: no items")
    if batch_size < 1:
        raise DataError(f"batch size must be positive, got {batch_size}")
    start = time.perf_counter()
    settings = extractor.settings()
    store = EmbeddingStore.open(settings) if use_cache else None
    vectors: dict[int, np.ndarray] = {}
    failed: dict[int, str] = {}
    counts = {"cached": 0, "computed": 0}
    n_workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=n_workers) as pool, progress_bar() if progress else nullcontext() as bar:
        task = bar.add_task(f"embedding {extractor.kind}s", total=len(items)) if bar is not None else None
        try:
            for begin in range(0, len(items), batch_size):
                positions = list(range(begin, min(begin + batch_size, len(items))))
                _run_batch(items, positions, extractor, store, pool, vectors, failed, counts)
                if bar is not None and task is not None:
                    bar.update(task, advance=len(positions))
        finally:
            if store is not None:
                store.flush()  # an interrupted run keeps what it computed
    return _result(items, extractor, settings, vectors, failed, counts, time.perf_counter() - start)


def _run_batch(
    items: Sequence[MediaItem],
    positions: list[int],
    extractor: Extractor,
    store: EmbeddingStore | None,
    pool: ThreadPoolExecutor,
    vectors: dict[int, np.ndarray],
    failed: dict[int, str],
    counts: dict[str, int],
) -> None:
    contents = dict(zip(positions, pool.map(lambda i: _attempt(extractor.content, items[i]), positions)))
    readable = [i for i in positions if _keep(i, contents[i], items, failed)]
    keys = [item_key(extractor.kind, contents[i]) for i in readable]  # type: ignore[arg-type]
    hits = store.lookup(keys) if store is not None else {}
    for k, vector in hits.items():
        vectors[readable[k]] = vector
    counts["cached"] += len(hits)
    todo = [(i, key) for k, (i, key) in enumerate(zip(readable, keys)) if k not in hits]
    prepared = list(pool.map(lambda ik: _attempt(extractor.prepare, items[ik[0]], contents[ik[0]]), todo))
    ready = [(i, key, p) for (i, key), p in zip(todo, prepared) if _keep(i, p, items, failed)]
    if not ready:
        return
    embedded = extractor.embed([p for _, _, p in ready])
    for (i, _, _), vector in zip(ready, embedded):
        vectors[i] = vector
    counts["computed"] += len(ready)
    if store is not None:
        store.add([key for _, key, _ in ready], embedded)


class _Failure:
    def __init__(self, reason: str) -> None:
        self.reason = reason


def _attempt(step: Any, *args: Any) -> Any:
    """``step(*args)``, or a :class:`_Failure` holding why the item cannot be used."""
    try:
        return step(*args)
    except DataError as exc:
        return _Failure(str(exc))
    except Exception as exc:  # a decoder's unexpected error must not stop the other items
        return _Failure(f"{type(exc).__name__}: {exc}")


def _keep(i: int, value: Any, items: Sequence[MediaItem], failed: dict[int, str]) -> bool:
    if not isinstance(value, _Failure):
        return True
    failed[i] = value.reason
    item = items[i]
    warnings.warn(f"{item.name}: {value.reason}; sample '{item.sample_id}' is left absent", DataWarning, stacklevel=2)
    return False


def _result(
    items: Sequence[MediaItem],
    extractor: Extractor,
    settings: dict[str, Any],
    vectors: dict[int, np.ndarray],
    failed: dict[int, str],
    counts: dict[str, int],
    seconds: float,
) -> Embeddings:
    order = sorted(vectors)
    failures = [(items[i].name, failed[i]) for i in sorted(failed)]
    if not order:
        first = "; ".join(f"{name}: {reason}" for name, reason in failures[:3])
        raise DataError(f"all {len(items)} item(s) failed, nothing to write (first: {first})")
    result = Embeddings(
        sample_ids=[items[i].sample_id for i in order],
        vectors=np.stack([vectors[i] for i in order]).astype(np.float32),
        failed=failures,
        model=extractor.source.name,
        settings=settings,
        n_cached=counts["cached"],
        n_computed=counts["computed"],
        seconds=seconds,
    )
    if failures:
        warnings.warn(result.failure_summary(), DataWarning, stacklevel=3)
    return result
