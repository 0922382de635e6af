"""The ``omnifuse`` command line (Typer + rich).

Errors raised on purpose (:class:`omnifuse.errors.OmnifuseError`) are printed as one line,
without a traceback, and the command exits with status 2.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from omnifuse import __version__
from omnifuse.cli.common import console, err_console, interactive
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


# ---------------------------------------------------------------------- demo
@app.command("demo")
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where the demo writes its outputs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """The main job on the embedded default: simulated 3- and 5-modality low-quality cohorts."""
    from omnifuse.cli.output import print_summary
    from omnifuse.data.loaders import load_dataset, write_folder
    from omnifuse.data.simulate import default_cohort

    for n_modalities in (3, 5):
        ds, truth = default_cohort(n_modalities, seed=seed)
        folder = out / f"cohort-{n_modalities}"
        write_folder(ds, folder, overwrite=True)
        (folder / "truth.json").write_text(json.dumps(truth.to_dict(), indent=2))
        reloaded = load_dataset(folder)
        print_summary(reloaded.summary(), title=f"simulated {n_modalities}-modality cohort ({folder})")
        console.print(f"ground-truth lazy combination: {'+'.join(truth.lazy_combination) or 'none'}\n")
    console.print(f"cohorts written to {out}/")


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def _register_commands() -> None:
    from omnifuse.cli import data, train  # noqa: F401  (commands attach themselves to `app`)


def main() -> None:
    """Console-script entry point: runs the app, turning omnifuse errors into one line."""
    warnings.showwarning = _show_warning
    _register_commands()
    try:
        app()
    except OmnifuseError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
