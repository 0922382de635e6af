"""``omnifuse robustness``: metrics under missing modalities and noise."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from omnifuse.cli.common import (
    ConfigOption,
    DataOption,
    ModalitiesOption,
    SetOption,
    StrictOption,
    app,
    check_output_dir,
    console,
    load_data,
    restrict_modalities,
    split_names,
)
from omnifuse.cli.evaluate import TestSplitOption, evaluated_indices
from omnifuse.cli.output import print_robustness
from omnifuse.errors import ConfigError
from omnifuse.utils.progress import progress_bar


def _rates(text: str) -> list[float]:
    try:
        rates = sorted({round(float(t), 6) for t in split_names(text)} | {0.0})
    except ValueError:
        raise ConfigError(f"--missing-rates: expected comma-separated numbers in [0, 1], got '{text}'") from None
    bad = [r for r in rates if not 0.0 <= r <= 1.0]
    if bad:
        raise ConfigError(f"--missing-rates: {bad[0]} is outside [0, 1]")
    return rates


def _noise_levels(kinds: str) -> dict[str, tuple[float, ...]]:
    from omnifuse.evaluation.conditions import NOISE_LEVELS  # deferred: keeps `omnifuse --help` fast (torch)

    chosen = split_names(kinds)
    unknown = [k for k in chosen if k not in NOISE_LEVELS]
    if unknown:
        raise ConfigError(f"--noise-kinds: unknown kind '{unknown[0]}' (valid: {', '.join(NOISE_LEVELS)})")
    return {k: NOISE_LEVELS[k] for k in chosen}


@app.command("robustness")
def robustness(
    data: Path = DataOption,
    models_arg: Optional[str] = typer.Option(None, "--models", help="Comma-separated model names to train and sweep."),
    runs: Optional[str] = typer.Option(
        None, "--runs", help="Comma-separated run directories to sweep instead of training."
    ),
    folds: int = typer.Option(5, "--folds", min=2, help="k of the grouped, stratified k-fold (without --test-split)."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Repeats with different seeds."),
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Train on these splits (e.g. a)."),
    test_split: Optional[str] = TestSplitOption,
    baseline: str = typer.Option(
        "concat", "--baseline", help="Reference of effective robustness (trained too if not in --models)."
    ),
    draws: int = typer.Option(3, "--draws", min=1, help="Draws of each random corruption."),
    missing_rates: str = typer.Option(
        "0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "--missing-rates", help="Missing rates swept."
    ),
    noise_kinds: str = typer.Option(
        "gaussian,dropout,segment,flatline",
        "--noise-kinds",
        help="Noise kinds swept (segment/flatline: time series only).",
    ),
    patterns: bool = typer.Option(True, "--patterns/--no-patterns", help="Evaluate every availability pattern."),
    modalities: Optional[str] = ModalitiesOption,
    config: Optional[Path] = ConfigOption,
    overrides: Optional[list[str]] = SetOption,
    out: Path = typer.Option(..., "--out", help="Output directory (robustness.json, details.json, report.html)."),
    strict: bool = StrictOption,
) -> None:
    """How methods hold up when modalities go missing or get noisy: curves with intervals,
    every availability pattern, relative and effective robustness, and the HTML report.
    Models with conformal sets (--set conformal=0.9) also report their coverage and mean set
    size under every condition."""
    from omnifuse.evaluation.study import SweepOptions  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.training.config import read_config  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)

    if bool(models_arg) == bool(runs):
        raise ConfigError("give either --models (train and sweep) or --runs (sweep trained runs)")
    if train_split and not test_split:
        raise ConfigError("--train-split needs --test-split (without a test split, k-fold is used)")
    options = SweepOptions(
        missing_rates=_rates(missing_rates), noise_levels=_noise_levels(noise_kinds), patterns=patterns, draws=draws
    )
    user = read_config(config, overrides)  # checked against the models before any training
    check_output_dir(out, allow_existing=True)
    ds = restrict_modalities(load_data(data, strict=strict), modalities)
    if runs:
        study = _sweep_runs(ds, split_names(runs), test_split, options, baseline, str(data))
    else:
        study = _train_and_sweep(
            ds, split_names(models_arg), baseline, folds, seeds, train_split, test_split, user, options, str(data)
        )
    report = study.write(out)
    print_robustness(study.robustness)
    console.print(f"robustness.json and the report written to {out} (open {report})")


def _train_and_sweep(
    ds: Any,
    names: list[str],
    baseline: str,
    folds: int,
    seeds: int,
    train_split: str | None,
    test_split: str | None,
    user: dict[str, Any],
    options: Any,
    title: str,
) -> Any:
    from omnifuse.evaluation.study import run_study  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.models import get_model  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)

    if not names:
        raise ConfigError("--models needs at least one model name")
    if baseline and baseline not in names:
        get_model(baseline)
        names.append(baseline)
        console.print(f"[dim]adding the baseline '{baseline}' (reference of effective robustness)[/dim]")
    with progress_bar() as bar:
        n_repeats = seeds if test_split else seeds * folds
        task = bar.add_task("robustness", total=n_repeats * (len(names) + 1))

        def step(name: str, label: str) -> None:
            bar.update(task, advance=1, description=f"train {name} ({label})")

        def sweep(label: str) -> None:
            bar.update(task, advance=1, description=f"sweep ({label})")

        return run_study(
            ds,
            names,
            folds=folds,
            seeds=seeds,
            train_split=train_split,
            test_split=test_split,
            config=user,
            options=options,
            baseline=baseline,
            title=title,
            on_step=step,
            on_sweep=sweep,
        )


def _sweep_runs(ds: Any, runs: list[str], test_split: str | None, options: Any, baseline: str, title: str) -> Any:
    from omnifuse.evaluation.study import sweep_fitted  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.serving.bundle import load_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)

    fitted = {}
    for run in runs:
        bundle = load_bundle(Path(run) / "bundle")
        name = bundle.name if bundle.name not in fitted else f"{bundle.name} ({Path(run).name})"
        fitted[name] = bundle.fitted(ds)
    if baseline not in fitted:
        warnings.warn(f"no run of the baseline '{baseline}': effective robustness is left out", stacklevel=1)
    return sweep_fitted(ds, fitted, evaluated_indices(ds, test_split), options, baseline=baseline, title=title)
