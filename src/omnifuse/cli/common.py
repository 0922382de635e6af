"""Shared pieces of the command line: consoles, options, small helpers."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from omnifuse.data.dataset import MultimodalDataset

console = Console()
err_console = Console(stderr=True)

DataOption = typer.Option(..., "--data", help="Dataset path (folder format or PhysioNet 2012).")
StrictOption = typer.Option(
    False, "--strict", help="Refuse a PhysioNet 2012 line that cannot be used (empty or unknown parameter, "
    "bad time or value) instead of skipping it, counting it and warning once.",
)  # fmt: skip


def interactive() -> bool:
    """True when stderr is a terminal (progress bars are worth drawing)."""
    return sys.stderr.isatty()


def load_data(path: Path, strict: bool = False, use_cache: bool = True, progress: bool | None = None) -> MultimodalDataset:
    """The dataset at ``path`` (any format), as every command that takes ``--data`` loads it."""
    from omnifuse.data.loaders import load_dataset

    return load_dataset(path, use_cache=use_cache, progress=interactive() if progress is None else progress, strict=strict)
