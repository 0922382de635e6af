"""The ``omnifuse`` command line (Typer + rich).

Errors raised on purpose (:class:`omnifuse.errors.OmnifuseError`) are printed as one line,
without a traceback, and the command exits with status 2.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import typer
from rich.markup import escape

from omnifuse import __version__
from omnifuse.cli.common import console, err_console
from omnifuse.errors import OmnifuseError

app = typer.Typer(
    help="Multimodal learning on low-quality medical data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        console.print(f"omnifuse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """omnifuse: fusion models for missing, imbalanced and noisy medical modalities."""


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


def _register_commands() -> None:
    from omnifuse.cli import (  # noqa: F401  (each command module attaches its command to `app`)
        benchmark,
        data,
        demo,
        evaluate,
        explain,
        extract,
        models,
        predict,
        report,
        robustness,
        serve,
        train,
        tune,
    )


def main() -> None:
    """Console-script entry point: runs the app, turning omnifuse errors into one line."""
    warnings.showwarning = _show_warning
    _register_commands()
    try:
        app()
    except OmnifuseError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
