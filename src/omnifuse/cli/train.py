"""``omnifuse models``, ``omnifuse train`` and ``omnifuse benchmark``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from omnifuse.cli.app import app
from omnifuse.cli.common import DataOption, StrictOption, console, interactive, load_data
from omnifuse.cli.output import print_benchmark
from omnifuse.errors import ConfigError
from omnifuse.utils.atomic import atomic_file
from omnifuse.utils.jsonio import write_json

ConfigOption = typer.Option(None, "--config", help="YAML file of hyperparameters.")
SetOption = typer.Option(None, "--set", help="Override a hyperparameter: key=value (repeatable).")
ModalitiesOption = typer.Option(None, "--modalities", help="Use only these modalities (comma-separated).")


def _restrict(ds, modalities: str | None):  # type: ignore[no-untyped-def]
    """The dataset restricted to ``--modalities``; samples left with none are dropped."""
    if not modalities:
        return ds
    sub = ds.select_modalities([m.strip() for m in modalities.split(",") if m.strip()])
    return sub.subset(sub.mask.any(axis=1))


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered models: name, kind (fusion/strategy/baseline/model), paper."""
    from rich.table import Column, Table

    from omnifuse.models import all_models

    entries = [e.to_dict() for e in all_models()]
    if as_json:
        console.print_json(json.dumps(entries))
        return
    table = Table(Column("name", no_wrap=True), "kind", Column("paper", overflow="fold"),
                  Column("description", overflow="fold"), title="registered models")  # long words fold, never "…"
    for e in entries:
        table.add_row(e["name"], e["kind"], e["paper"], e["description"])
    console.print(table)


@app.command("train")
def train(
    data: Path = DataOption,
    model: str = typer.Option(..., "--model", help="Registered model name (see `omnifuse models`)."),
    config: Optional[Path] = ConfigOption,
    overrides: Optional[list[str]] = SetOption,
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Train on these splits (e.g. a,b)."),
    modalities: Optional[str] = ModalitiesOption,
    out: Path = typer.Option(..., "--out", help="Run directory."),
    resume: bool = typer.Option(False, "--resume", help="Continue from RUN_DIR/checkpoints/last.ckpt."),
    strict: bool = StrictOption,
) -> None:
    """Train one model; validation is carved out of the training samples (grouped, stratified)."""
    from dataclasses import replace

    from omnifuse.data.splits import holdout_indices
    from omnifuse.models import get_model
    from omnifuse.training.config import load_config
    from omnifuse.training.fit import SplitContext, fit

    entry = get_model(model)
    run_config = load_config(config, overrides, model=entry)  # a key the model does not own fails here
    trainer = run_config.trainer
    if interactive() and "progress" not in trainer.model_fields_set:
        run_config = replace(run_config, trainer=trainer.model_copy(update={"progress": True}))  # a progress bar per epoch
    check_output_dir(out, allow_existing=resume)
    ds = _restrict(load_data(data, strict=strict), modalities)
    pool = ds.split_indices(train_split) if train_split else np.arange(len(ds))
    train_idx, val_idx = holdout_indices(ds, pool, trainer.val_fraction, seed=trainer.seed)
    entry.build(ds, run_config.model)  # fails on a bad option before anything is written
    identity = {"model": entry.name, "data": str(Path(data).resolve()), "modalities": list(ds.modalities),
                "config": run_config.flat()}
    if resume:
        check_resume(out, identity)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "run_config.json") as handle:
        json.dump(identity, handle, indent=2)
    fitted = fit(entry.name, SplitContext(ds, train_idx, val_idx), run_config,
                 run_dir=out, checkpoints=True, resume=resume)
    from omnifuse.evaluation.metrics import compute_metrics
    from omnifuse.serving.bundle import save_bundle

    val_metrics = compute_metrics(fitted.predict_proba(val_idx), ds.y[val_idx], ds.task)
    save_bundle(fitted, out / "bundle", metrics=val_metrics)
    summary: dict[str, Any] = {
        "model": entry.name,
        "data": str(data),
        "data_resolved": str(Path(data).resolve()),
        "train_split": train_split,
        "modalities": list(ds.modalities),
        "n_train": int(len(train_idx)),
        "n_val": int(len(val_idx)),
        "best_epoch": fitted.best_epoch,
        "train_seconds": fitted.train_seconds,
        "n_params": fitted.n_params(),
        "validation": val_metrics,
        "validation_note": "the validation set also chose the best epoch: these metrics are optimistic"
                           + ("; ensemble members after the first carved their own validation sets, partly "
                              "training on this one: more optimistic still" if fitted.config.trainer.ensemble > 1 else ""),
        "config": fitted.config.flat(),
        "bundle": "bundle",
    }
    write_json(out / "run.json", summary)
    console.print(f"trained {entry.name}: validation " +
                  ", ".join(f"{k} {v:.3f}" for k, v in val_metrics.items()) +
                  f"\nrun written to {out} (model bundle: {out / 'bundle'})")


@app.command("benchmark")
def benchmark(
    data: Path = DataOption,
    models_arg: str = typer.Option(..., "--models", help="Comma-separated model names."),
    folds: int = typer.Option(5, "--folds", min=2, help="k of the grouped, stratified k-fold."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Repeats with different seeds."),
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Train on these splits (e.g. a)."),
    test_split: Optional[str] = typer.Option(None, "--test-split", help="Report on these splits (e.g. b)."),
    modalities: Optional[str] = ModalitiesOption,
    config: Optional[Path] = ConfigOption,
    overrides: Optional[list[str]] = SetOption,
    out: Path = typer.Option(..., "--out", help="Output directory (results.json)."),
    strict: bool = StrictOption,
    tune_trials: int = typer.Option(0, "--tune-trials", min=0,
                                    help="Nested CV: tune every method with N trials inside each outer training pool."),
    tune_folds: int = typer.Option(3, "--tune-folds", min=2, help="Inner folds of the nested tuning."),
) -> None:
    """Compare models on identical splits: metrics with intervals and paired tests
    (with --tune-trials, each method is tuned inside every outer training pool first)."""
    from omnifuse.evaluation.benchmark import run_benchmark
    from omnifuse.training.config import load_configs
    from omnifuse.utils.progress import progress_bar

    names = [m.strip() for m in models_arg.split(",") if m.strip()]
    if not names:
        raise ConfigError("--models needs at least one model name")
    if train_split and not test_split:
        raise ConfigError("--train-split needs --test-split (without a test split, k-fold is used)")
    user, _ = load_configs(config, overrides, names)  # every key must belong to the trainer or a model
    check_output_dir(out, allow_existing=True)
    ds = _restrict(load_data(data, strict=strict), modalities)
    with progress_bar() as bar:
        n_steps = len(names) * (seeds if test_split else seeds * folds)
        task = bar.add_task("benchmark", total=n_steps)

        def step(name: str, label: str) -> None:
            bar.update(task, advance=1, description=f"{name} ({label})")

        options: dict[str, Any] = dict(folds=folds, seeds=seeds, train_split=train_split, test_split=test_split,
                                       config=user, on_step=step)
        if tune_trials:
            from omnifuse.tuning import tuned_benchmark

            results = tuned_benchmark(ds, names, tune_trials, tune_folds, **options)
        else:
            results = run_benchmark(ds, names, **options)
    from omnifuse.evaluation.documents import write_document

    results.dataset = str(data)
    out.mkdir(parents=True, exist_ok=True)
    write_document(out / "results.json", results)
    print_benchmark(results)
    console.print(f"results written to {out / 'results.json'}")


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
    changed += [f"config.{k}" for k in sorted(set(previous.get("config", {})) | set(identity["config"]))
                if k != "max_epochs" and previous.get("config", {}).get(k) != identity["config"].get(k)]
    if changed:
        raise ConfigError(f"{out}: cannot resume with a different {', '.join(changed)} (only max_epochs may change)")
