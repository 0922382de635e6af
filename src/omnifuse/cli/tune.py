"""``omnifuse tune``: hyperparameter search on inner folds of the training samples (Optuna)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from omnifuse.cli.common import (
    ConfigOption,
    DataOption,
    ModalitiesOption,
    SetOption,
    app,
    check_output_dir,
    console,
    interactive,
    restrict_modalities,
)
from omnifuse.utils.progress import progress_bar


@app.command("tune")
def tune_command(
    data: Path = DataOption,
    model: str = typer.Option(..., "--model", help="Registered model name (see `omnifuse models`)."),
    trials: int = typer.Option(20, "--trials", min=1, help="Trials in total (a resumed study counts its own)."),
    out: Path = typer.Option(..., "--out", help="Output directory (study.db, best.yaml, trials.csv, tune.json)."),
    metric: Optional[str] = typer.Option(
        None, "--metric", help="Validation metric to optimise (default: auroc; survival tasks: c_index)."
    ),
    folds: int = typer.Option(3, "--folds", min=2, help="Inner folds each trial is scored on."),
    config: Optional[Path] = ConfigOption,
    overrides: Optional[list[str]] = SetOption,
    space: Optional[Path] = typer.Option(None, "--space", help="YAML: dotted key -> spec (null removes a key)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the study in OUT/study.db (or join a running one)."),
    test_split: Optional[str] = typer.Option(None, "--test-split", help="Samples never seen while tuning (e.g. test)."),
    train_split: Optional[str] = typer.Option(None, "--train-split", help="Tune on these splits only (e.g. a,b)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=1, help="Stop starting trials after SEC seconds."),
    modalities: Optional[str] = ModalitiesOption,
) -> None:
    """Tune a model's hyperparameters: TPE sampling, per-epoch pruning, a resumable
    SQLite study; the best config goes to OUT/best.yaml (for train/benchmark --config)."""
    from omnifuse.data.loaders import load_dataset  # deferred: keeps `omnifuse --help` fast (torch, pandas)
    from omnifuse.evaluation.report import build_report  # deferred: keeps `omnifuse --help` fast (torch, matplotlib)
    from omnifuse.models import get_model  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)
    from omnifuse.training.config import load_configs  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)
    from omnifuse.tuning import load_space_file, tune  # deferred: keeps `omnifuse --help` fast (Lightning, Optuna)

    entry = get_model(model)
    user, _ = load_configs(config, overrides, [entry])  # a key the model does not own fails here
    space_overrides = load_space_file(space) if space is not None else {}
    check_output_dir(out, allow_existing=True)
    ds = restrict_modalities(load_dataset(data, progress=interactive()), modalities)
    with _TrialProgress(trials) as progress:
        result = tune(
            ds,
            entry.name,
            trials,
            config=user,
            space=space_overrides,
            space_source=str(space or "--space"),
            metric=metric,
            folds=folds,
            test_split=test_split,
            train_split=train_split,
            timeout=timeout,
            out=out,
            resume=resume,
            callbacks=[progress],
        )
    report = build_report(out, title=f"omnifuse tune: {entry.name}")
    _print(result.summary.model_dump(), out, report)


class _TrialProgress:
    """A progress bar advanced after every trial (one line per trial when stderr is not a TTY)."""

    def __init__(self, total: int) -> None:
        self.bar = progress_bar()
        self.total = total

    def __enter__(self) -> "_TrialProgress":
        self.bar.__enter__()
        self.task = self.bar.add_task("tune", total=self.total)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.__exit__(*exc)

    def __call__(self, study: Any, trial: Any) -> None:
        value = f" {trial.value:.4f}" if trial.value is not None else ""
        try:
            best = f", best {study.best_value:.4f} (#{study.best_trial.number})"
        except ValueError:
            best = ""
        self.bar.update(
            self.task, advance=1, description=f"trial {trial.number} {trial.state.name.lower()}{value}{best}"
        )


def _print(summary: dict[str, Any], out: Path, report: Path) -> None:
    console.print(
        f"tuned {summary['model']}: {summary['n_complete']} complete, {summary['n_pruned']} pruned, "
        f"{summary['n_failed']} failed trial(s); best mean inner-fold {summary['metric']} "
        + (
            f"{summary['best_value']:.4f} (trial {summary['best_trial']})"
            if summary["best_value"] is not None
            else "none (no trial completed)"
        )
    )
    if summary["best_params"]:
        table = Table("parameter", "best value", "importance", title="best trial")
        for key, value in summary["best_params"].items():
            importance = summary["importances"].get(key)
            table.add_row(
                key,
                f"{value:.4g}" if isinstance(value, float) else str(value),
                "" if importance is None else f"{importance:.2f}",
            )
        console.print(table)
    console.print(f"written to {out}: best.yaml (use with --config), trials.csv, tune.json, study.db; report {report}")
