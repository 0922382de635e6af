"""Shared pieces of the command line: the Typer app, consoles, options, small helpers.

The command modules attach their commands to :data:`app`; :mod:`omnifuse.cli.app` imports
them all and runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.console import Console

from omnifuse import __version__
from omnifuse.errors import ConfigError

if TYPE_CHECKING:
    from omnifuse.data.dataset import MultimodalDataset

console = Console()
err_console = Console(stderr=True)

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


DataOption = typer.Option(..., "--data", help="Dataset path (folder format or PhysioNet 2012).")
StrictOption = typer.Option(
    False, "--strict", help="Refuse a PhysioNet 2012 line that cannot be used (empty or unknown parameter, "
    "bad time or value) instead of skipping it, counting it and warning once.",
)  # fmt: skip
ConfigOption = typer.Option(None, "--config", help="YAML file of hyperparameters.")
SetOption = typer.Option(None, "--set", help="Override a hyperparameter: key=value (repeatable).")
ModalitiesOption = typer.Option(None, "--modalities", help="Use only these modalities (comma-separated).")


def interactive() -> bool:
    """True when stderr is a terminal (progress bars are worth drawing)."""
    return sys.stderr.isatty()


def load_data(
    path: Path, strict: bool = False, use_cache: bool = True, progress: bool | None = None
) -> MultimodalDataset:
    """The dataset at ``path`` (any format), as every command that takes ``--data`` loads it."""
    from omnifuse.data.loaders import load_dataset  # deferred: keeps `omnifuse --help` fast (torch, pandas)

    return load_dataset(
        path, use_cache=use_cache, progress=interactive() if progress is None else progress, strict=strict
    )


def load_for_bundle(bundle: Any, path: Path, split: str | None = None, strict: bool = False) -> MultimodalDataset:
    """The dataset at ``path`` as a trained bundle reads it: only ``split`` (if given), the
    model's modalities (others ignored with a warning), without its labels (predicting and
    explaining need none), checked compatible with the model."""
    from omnifuse.data.schema import check_compatible  # deferred: keeps `omnifuse --help` fast (torch)
    from omnifuse.serving.cohort import model_modalities, without_labels  # deferred: keeps `omnifuse --help` fast

    ds = load_data(path, strict=strict)
    if split:
        ds = ds.subset(ds.split_indices(split))
    ds = without_labels(model_modalities(ds, bundle.schema), bundle.schema)
    check_compatible(bundle.schema, ds, str(bundle.directory))
    return ds


def restrict_modalities(ds: MultimodalDataset, modalities: str | None) -> MultimodalDataset:
    """The dataset restricted to ``--modalities``; samples left with none are dropped."""
    if not modalities:
        return ds
    sub = ds.select_modalities([m.strip() for m in modalities.split(",") if m.strip()])
    return sub.subset(np.flatnonzero(sub.mask.any(axis=1)))


def check_output_dir(out: Path, allow_existing: bool) -> None:
    """``out`` must be a directory (or not exist); a non-empty one only when allowed."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not allow_existing:
        raise ConfigError(f"{out}: run directory exists and is not empty (use --resume or another --out)")


def check_resume(out: Path, identity: dict[str, Any]) -> None:
    """A resumed run must have the model, data and configuration it was started with."""
    path = out / "run_config.json"
    if not path.exists():
        raise ConfigError(f"{out}: nothing to resume (no run_config.json)")
    previous = json.loads(path.read_text())
    changed = [k for k in ("model", "data", "modalities") if previous.get(k) != identity[k]]
    changed += [
        f"config.{k}"
        for k in sorted(set(previous.get("config", {})) | set(identity["config"]))
        if k != "max_epochs" and previous.get("config", {}).get(k) != identity["config"].get(k)
    ]
    if changed:
        raise ConfigError(f"{out}: cannot resume with a different {', '.join(changed)} (only max_epochs may change)")


def split_names(text: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (comma-separated option values)."""
    return [t.strip() for t in (text or "").split(",") if t.strip()]
