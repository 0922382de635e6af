"""Progress bars (rich) for steps that can take more than a couple of seconds."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

T = TypeVar("T")


class LineProgress:
    """What :func:`progress_bar` gives when stderr is not a terminal (a log file, CI): one
    timestamped line per step instead of a redrawn bar. Same calls as ``rich.progress.Progress``
    as far as omnifuse uses them."""

    def __init__(self) -> None:
        self._tasks: dict[int, list] = {}
        self._start = time.perf_counter()

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **_: object) -> TaskID:
        task = len(self._tasks)
        self._tasks[task] = [description, total, 0]
        return TaskID(task)

    def update(self, task: int, advance: float = 0, description: str | None = None, **_: object) -> None:
        state = self._tasks[task]
        state[2] += advance
        if description is not None:
            state[0] = description
        total = f"/{state[1]:g}" if state[1] else ""
        print(
            f"[{time.perf_counter() - self._start:7.1f}s] {state[0]} ({state[2]:g}{total})", file=sys.stderr, flush=True
        )

    def advance(self, task: int, advance: float = 1) -> None:
        self.update(task, advance=advance)


def progress_bar() -> Progress | LineProgress:
    """A rich progress display on stderr (removed when done), or step lines when stderr is
    not a terminal."""
    if not sys.stderr.isatty():
        return LineProgress()
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def track(items: Iterable[T], description: str, total: int | None = None, enabled: bool = True) -> Iterator[T]:
    """Iterate over ``items`` with a progress bar when ``enabled``."""
    if not enabled:
        yield from items
        return
    with progress_bar() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)
