"""The ``omnifuse`` command line (Typer + rich). See :func:`main`."""

from omnifuse.cli.app import app, main

__all__ = ["app", "main"]
