"""The ``omnifuse`` command line (Typer + rich).

The Typer ``app`` is made in :mod:`omnifuse.cli.common`; each command module attaches its
command to it, and importing this module imports them all. Errors raised on purpose
(:class:`omnifuse.errors.OmnifuseError`) are printed as one line, without a traceback, and
the command exits with status 2.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from rich.markup import escape

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
from omnifuse.cli.common import app, err_console
from omnifuse.errors import OmnifuseError

__all__ = ["app", "main"]


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point: runs the app, turning omnifuse errors into one line."""
    warnings.showwarning = _show_warning
    try:
        app()
    except OmnifuseError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
