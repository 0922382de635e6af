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
from rich.console import Console
from rich.table import Table

from omnifuse import __version__
from omnifuse.errors import OmnifuseError

app = typer.Typer(
    help="Multimodal learning on low-quality medical data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Inspect, convert and simulate datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err_console = Console(stderr=True)

DataOption = typer.Option(..., "--data", help="Dataset path (folder format or PhysioNet 2012).")


def _version(value: bool) -> None:
    if value:
        console.print(f"omnifuse {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """omnifuse: fusion models for missing, imbalanced and noisy medical modalities."""


# ---------------------------------------------------------------------- data
@data_app.command("inspect")
def data_inspect(
    path: Path = typer.Argument(..., help="Dataset path."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Parse the source files again."),
) -> None:
    """Modalities, availability per modality and pattern, label balance and split sizes."""
    from omnifuse.data.loaders import load_dataset

    ds = load_dataset(path, use_cache=not no_cache, progress=_interactive() and not as_json)
    summary = ds.summary()
    if as_json:
        console.print_json(json.dumps(summary, default=str))
        return
    print_summary(summary, title=str(path))


@data_app.command("convert")
def data_convert(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output folder (generic folder format)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
) -> None:
    """Write any loadable dataset in the generic folder format."""
    from omnifuse.data.loaders import load_dataset, write_folder

    ds = load_dataset(data, progress=_interactive())
    write_folder(ds, out, fmt=fmt, overwrite=overwrite)
    console.print(f"wrote {len(ds)} samples, {ds.n_modalities} modalities to {out}")


@data_app.command("simulate")
def data_simulate(
    out: Path = typer.Option(..., "--out", help="Output folder (generic folder format)."),
    modalities: int = typer.Option(3, "--modalities", "-m", min=1, help="Number of modalities."),
    n_samples: int = typer.Option(1000, "--n-samples", "-n", min=10, help="Number of samples."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same cohort)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty output folder."),
) -> None:
    """Simulate a low-quality cohort with known lazy modalities; writes truth.json beside it."""
    from omnifuse.data.loaders import write_folder
    from omnifuse.data.simulate import default_cohort

    ds, truth = default_cohort(modalities, seed=seed, n_samples=n_samples)
    write_folder(ds, out, overwrite=overwrite)
    (Path(out) / "truth.json").write_text(json.dumps(truth.to_dict(), indent=2))
    console.print(f"wrote {len(ds)} samples, {ds.n_modalities} modalities to {out}")
    console.print(f"lazy combination (ground truth): {'+'.join(truth.lazy_combination) or 'none'}")


# ---------------------------------------------------------------------- demo
@app.command("demo")
def demo(
    out: Path = typer.Option(Path("demo-out"), "--out", help="Where the demo writes its outputs."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """The main job on the embedded default: simulated 3- and 5-modality low-quality cohorts."""
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


# ---------------------------------------------------------------------- output
def print_summary(summary: dict[str, Any], title: str) -> None:
    """Rich tables for a dataset summary (see MultimodalDataset.summary)."""
    console.print(f"[bold]{title}[/bold]: {summary['n_samples']} samples, "
                  f"{summary['n_groups']} groups, task {summary['task']}")
    mods = Table("modality", "kind", "features", "present", "absent", title="modalities")
    for name, m in summary["modalities"].items():
        mods.add_row(name, m["kind"], str(m["n_features"]), str(m["n_present"]), str(m["n_absent"]))
    console.print(mods)
    patterns = Table("available modalities", "samples", title="availability patterns")
    for pattern, count in summary["patterns"].items():
        patterns.add_row(pattern, str(count))
    console.print(patterns)
    labels = Table("class", "samples", title="labels")
    for name, count in summary["labels"].items():
        labels.add_row(name, str(count))
    console.print(labels)
    if summary["splits"]:
        splits = Table("split", "samples", title="splits")
        for name, count in summary["splits"].items():
            splits.add_row(name, str(count))
        console.print(splits)


def _interactive() -> bool:
    return sys.stderr.isatty()


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    err_console.print(f"[yellow]warning:[/yellow] {message}", highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point: runs the app, turning omnifuse errors into one line."""
    warnings.showwarning = _show_warning
    try:
        app()
    except OmnifuseError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
