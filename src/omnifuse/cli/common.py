"""Shared pieces of the command line: consoles, options, small helpers."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)

DataOption = typer.Option(..., "--data", help="Dataset path (folder format or PhysioNet 2012).")


def interactive() -> bool:
    """True when stderr is a terminal (progress bars are worth drawing)."""
    return sys.stderr.isatty()
