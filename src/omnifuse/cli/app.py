"""The ``omnifuse`` command line (Typer + rich).

Errors raised on purpose (:class:`omnifuse.errors.OmnifuseError`) are printed as one line,
without a traceback, and the command exits with status 2.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
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


# ---------------------------------------------------------------------- demo
DEMO_MODELS = ("omnifuse", "concat", "attention", "late", "g-blend", "sk-logreg", "sk-hgb")


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where the demo writes its outputs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    folds: int = typer.Option(3, "--folds", min=2, help="Folds of the cross-validation."),
    n_samples: int = typer.Option(1000, "--n-samples", min=60, help="Samples per simulated cohort."),
    models: str = typer.Option(",".join(DEMO_MODELS), "--models", help="Models to compare."),
    max_epochs: int = typer.Option(30, "--max-epochs", min=1, help="Epoch limit of the neural models."),
    draws: int = typer.Option(2, "--draws", min=1, help="Draws of each random corruption in the robustness sweep."),
    workers: int = typer.Option(2, "--workers", min=1, max=2, help="Cohorts run in parallel processes."),
) -> None:
    """The main job on the embedded default: simulated 3- and 5-modality low-quality cohorts
    with known lazy modalities; OmniFuse against the catalogue and the scikit-learn baselines,
    a robustness sweep, and an HTML report (OUT/report.html)."""
    from omnifuse.cli.demo import run_demo

    run_demo(out, seed=seed, folds=folds, models=[m.strip() for m in models.split(",") if m.strip()],
             n_samples=n_samples, max_epochs=max_epochs, draws=draws, workers=workers)


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


def _register_commands() -> None:
    from omnifuse.cli import data, evaluate, extract, predict, serve, train, tune  # noqa: F401  (commands attach themselves to `app`)


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
