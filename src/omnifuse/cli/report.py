"""``omnifuse report``: the HTML report of benchmark and robustness outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from omnifuse.cli.common import app, console
from omnifuse.errors import ConfigError


@app.command("report")
def report(
    directory: Path = typer.Argument(
        ..., help="Directory of results.json / robustness.json / details.json / tune.json / explain.json."
    ),
    title: Optional[str] = typer.Option(None, "--title", help="Report title."),
) -> None:
    """Rebuild the self-contained HTML report from the JSON outputs in DIRECTORY."""
    from omnifuse.evaluation.report import build_report  # deferred: keeps `omnifuse --help` fast (torch, matplotlib)

    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory")
    path = build_report(directory, title=title)
    console.print(f"report written to {path}")
