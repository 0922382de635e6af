"""``omnifuse evaluate``, ``omnifuse robustness`` and ``omnifuse report``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np
import typer

from omnifuse.cli.app import app
from omnifuse.cli.common import DataOption, StrictOption, console, load_data
from omnifuse.cli.train import ConfigOption, ModalitiesOption, SetOption, _restrict, check_output_dir
from omnifuse.errors import ConfigError

if TYPE_CHECKING:
    from omnifuse.evaluation.documents import RobustnessDocument

TestSplitOption = typer.Option(None, "--test-split", help="Evaluate on these splits (e.g. b); default all samples.")


def _names(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _rates(text: str) -> list[float]:
    try:
        rates = sorted({round(float(t), 6) for t in _names(text)} | {0.0})
    except ValueError:
        raise ConfigError(f"--missing-rates: expected comma-separated numbers in [0, 1], got '{text}'") from None
    bad = [r for r in rates if not 0.0 <= r <= 1.0]
    if bad:
        raise ConfigError(f"--missing-rates: {bad[0]} is outside [0, 1]")
    return rates


def _noise_levels(kinds: str) -> dict[str, tuple[float, ...]]:
    from omnifuse.evaluation.conditions import NOISE_LEVELS

    chosen = _names(kinds)
    unknown = [k for k in chosen if k not in NOISE_LEVELS]
    if unknown:
        raise ConfigError(f"--noise-kinds: unknown kind '{unknown[0]}' (valid: {', '.join(NOISE_LEVELS)})")
    return {k: NOISE_LEVELS[k] for k in chosen}


# ---------------------------------------------------------------------- evaluate
def _test_indices(ds: Any, test_split: str | None) -> np.ndarray:
    return ds.split_indices(test_split) if test_split else np.arange(len(ds))


def _corruption_specs(drops: list[str], noises: list[str]) -> list[str]:
    """CLI ``--drop MOD=RATE`` and ``--noise MOD=KIND:LEVEL`` as corruption specs."""
    specs = []
    for text in drops:
        target, eq, rate = text.partition("=")
        if not eq or not target.strip() or not rate.strip():
            raise ConfigError(f"--drop '{text}': expected MODALITY=RATE (or any=RATE), rate in [0, 1]")
        specs.append(f"{target.strip()}=drop:{rate.strip()}")
    for text in noises:
        target, _, rest = text.partition("=")
        kind = rest.partition(":")[0].strip().lower()
        if kind in ("drop", "only"):
            raise ConfigError(f"--noise '{text}': '{kind}' is not a noise kind "
                              "(valid: gaussian:LEVEL >= 0, dropout:RATE, segment:FRACTION, flatline:FRACTION; "
                              "use --drop MODALITY=RATE for missingness)")
        specs.append(text)
    return specs


@app.command("evaluate")
def evaluate(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train`."),
    data: Path = DataOption,
    test_split: Optional[str] = TestSplitOption,
    drop: Optional[list[str]] = typer.Option(None, "--drop", help="Make MODALITY absent for a share RATE of test samples: MOD=RATE or any=RATE (repeatable)."),
    noise: Optional[list[str]] = typer.Option(None, "--noise", help="Corrupt values: MOD=KIND:LEVEL, KIND gaussian|dropout|segment|flatline (repeatable)."),
    draws: int = typer.Option(3, "--draws", min=1, help="Random draws of the corruption (averaged)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the corruption draws."),
    out: Path = typer.Option(..., "--out", help="Output JSON file."),
    strict: bool = StrictOption,
) -> None:
    """Metrics of a trained run on (optionally corrupted) test data; corruptions touch the
    test samples only and the run's training standardisation is kept."""
    from omnifuse.data.corrupt import parse_corruption
    from omnifuse.evaluation.evaluate import evaluate_bundle
    from omnifuse.serving.bundle import load_bundle
    from omnifuse.utils.jsonio import write_json

    corruptions = [parse_corruption(s) for s in _corruption_specs(list(drop or []), list(noise or []))]
    if out.exists() and out.is_dir():
        raise ConfigError(f"{out}: is a directory (--out takes a JSON file)")
    bundle = load_bundle(run / "bundle")
    ds = load_data(data, strict=strict)
    test = _test_indices(ds, test_split)
    _warn_training_overlap(run, data, ds, test)
    document = evaluate_bundle(bundle, ds, test, corruptions, draws=draws, seed=seed)
    document.update({"run": str(run), "data": str(data), "test_split": test_split})
    write_json(out, document)
    shown = ", ".join(f"{m} {document['metrics'][m]['mean']:.3f}" for m in ("auroc", "macro_f1", "brier"))
    console.print(f"{bundle.name} on {document['n_samples']} samples"
                  + (f" with {', '.join(document['corruptions'])}" if corruptions else "") + f": {shown}")
    console.print(f"written to {out}")


def _warn_training_overlap(run: Path, data: Path, ds: Any, test: np.ndarray) -> None:
    """Warn when the evaluated samples include the run's own training/validation pool."""
    import json
    import warnings

    path = run / "run.json"
    if not path.exists():
        return
    info = json.loads(path.read_text())
    if info.get("data_resolved") != str(Path(data).resolve()):
        return
    pool = ds.split_indices(info["train_split"]) if info.get("train_split") else np.arange(len(ds))
    shared = len(np.intersect1d(pool, test))
    if shared:
        warnings.warn(f"{shared} of the {len(test)} evaluated samples were in the run's training/validation pool: "
                      "these metrics are optimistic (use --test-split with a split the run did not train on)",
                      stacklevel=1)


# ---------------------------------------------------------------------- robustness
@app.command("robustness")
def robustness(
    data: Path = DataOption,
    models_arg: Optional[str] = typer.Option(None, "--models", help="Comma-separated model names to train and sweep."),
    runs: Optional[str] = typer.Option(None, "--runs", help="Comma-separated run directories to sweep instead of training."),
    folds: int = typer.Option(5, "--folds", min=2, help="k of the grouped, stratified k-fold (without --test-split)."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Repeats with different seeds."),
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Train on these splits (e.g. a)."),
    test_split: Optional[str] = TestSplitOption,
    baseline: str = typer.Option("concat", "--baseline", help="Reference of effective robustness (trained too if not in --models)."),
    draws: int = typer.Option(3, "--draws", min=1, help="Draws of each random corruption."),
    missing_rates: str = typer.Option("0,0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9", "--missing-rates", help="Missing rates swept."),
    noise_kinds: str = typer.Option("gaussian,dropout,segment,flatline", "--noise-kinds", help="Noise kinds swept (segment/flatline: time series only)."),
    patterns: bool = typer.Option(True, "--patterns/--no-patterns", help="Evaluate every availability pattern."),
    modalities: Optional[str] = ModalitiesOption,
    config: Optional[Path] = ConfigOption,
    overrides: Optional[list[str]] = SetOption,
    out: Path = typer.Option(..., "--out", help="Output directory (robustness.json, details.json, report.html)."),
    strict: bool = StrictOption,
) -> None:
    """How methods hold up when modalities go missing or get noisy: curves with intervals,
    every availability pattern, relative and effective robustness, and the HTML report."""
    from omnifuse.evaluation.study import SweepOptions
    from omnifuse.training.config import read_config

    if bool(models_arg) == bool(runs):
        raise ConfigError("give either --models (train and sweep) or --runs (sweep trained runs)")
    if train_split and not test_split:
        raise ConfigError("--train-split needs --test-split (without a test split, k-fold is used)")
    options = SweepOptions(missing_rates=_rates(missing_rates), noise_levels=_noise_levels(noise_kinds),
                           patterns=patterns, draws=draws)
    user = read_config(config, overrides)  # checked against the models before any training
    check_output_dir(out, allow_existing=True)
    ds = _restrict(load_data(data, strict=strict), modalities)
    if runs:
        study = _sweep_runs(ds, _names(runs), test_split, options, baseline, str(data))
    else:
        study = _train_and_sweep(ds, _names(models_arg), baseline, folds, seeds, train_split, test_split,
                                 user, options, str(data))
    report = study.write(out)
    _print_robustness(study.robustness)
    console.print(f"robustness.json and the report written to {out} (open {report})")


def _train_and_sweep(ds: Any, names: list[str], baseline: str, folds: int, seeds: int, train_split: str | None,
                     test_split: str | None, user: dict[str, Any], options: Any, title: str) -> Any:
    from omnifuse.evaluation.study import run_study
    from omnifuse.models import get_model
    from omnifuse.utils.progress import progress_bar

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

        return run_study(ds, names, folds=folds, seeds=seeds, train_split=train_split, test_split=test_split,
                         config=user, options=options, baseline=baseline, title=title, on_step=step, on_sweep=sweep)


def _sweep_runs(ds: Any, runs: list[str], test_split: str | None, options: Any, baseline: str, title: str) -> Any:
    import warnings

    from omnifuse.evaluation.study import sweep_fitted
    from omnifuse.serving.bundle import load_bundle

    fitted = {}
    for run in runs:
        bundle = load_bundle(Path(run) / "bundle")
        name = bundle.name if bundle.name not in fitted else f"{bundle.name} ({Path(run).name})"
        fitted[name] = bundle.fitted(ds)
    if baseline not in fitted:
        warnings.warn(f"no run of the baseline '{baseline}': effective robustness is left out", stacklevel=1)
    return sweep_fitted(ds, fitted, _test_indices(ds, test_split), options, baseline=baseline, title=title)


def _print_robustness(doc: RobustnessDocument) -> None:
    from rich.table import Column, Table

    def number(value: float | None, signed: bool = False) -> str:
        return "–" if value is None else f"{value:+.3f}" if signed else f"{value:.3f}"

    effective = f"effective vs {doc.baseline}" if doc.baseline else "effective"
    table = Table(Column("method", overflow="fold"), "clean auroc", "relative robustness", Column(effective, overflow="fold"),
                  Column("worst pattern", overflow="fold"), title="robustness (auroc; areas over missing rates and noise levels)")
    for name, m in doc.methods.items():
        clean = m.clean["auroc"].mean
        rr = m.relative_robustness.overall.get("auroc")
        er = m.effective_robustness.overall.get("auroc") if m.effective_robustness else None
        scored = [(mean, k) for k, v in m.patterns.items() if (mean := v["auroc"].mean) is not None]
        worst = min(scored)[1] + f" ({min(scored)[0]:.3f})" if scored else "–"
        table.add_row(name, number(clean), number(rr), number(er, signed=True), worst)
    console.print(table)


# ---------------------------------------------------------------------- report
@app.command("report")
def report(
    directory: Path = typer.Argument(..., help="Directory of results.json / robustness.json / details.json."),
    title: Optional[str] = typer.Option(None, "--title", help="Report title."),
) -> None:
    """Rebuild the self-contained HTML report from the JSON outputs in DIRECTORY."""
    from omnifuse.evaluation.report import build_report

    if not directory.is_dir():
        raise ConfigError(f"{directory}: not a directory")
    path = build_report(directory, title=title)
    console.print(f"report written to {path}")
