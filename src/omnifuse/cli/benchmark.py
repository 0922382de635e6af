"""``omnifuse benchmark``: models compared on identical splits."""

from __future__ import annotations

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
)
from omnifuse.cli.output import print_benchmark, print_operating_points, print_subgroup_benchmark
from omnifuse.errors import ConfigError
from omnifuse.utils.progress import progress_bar

ThresholdOption = typer.Option(
    None,
    "--threshold",
    help="Binary operating point chosen on each repeat's validation samples: youden (default), f1, "
    "sens=0.9, spec=0.9 or a fixed threshold in (0, 1). Multiclass: argmax.",
)
SubgroupsOption = typer.Option(
    None,
    "--subgroups",
    help="COL[,COL]: every metric per subgroup on each repeat's test samples, the largest gaps and "
    "(binary) the equalised-odds difference at the operating point. Columns of labels.csv or "
    "subgroups.csv in the data folder, or a tabular feature such as PhysioNet's Gender and ICUType.",
)


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
    out: Path = typer.Option(..., "--out", help="Output directory (results.json, details.json)."),
    strict: bool = StrictOption,
    tune_trials: int = typer.Option(
        0, "--tune-trials", min=0, help="Nested CV: tune every method with N trials inside each outer training pool."
    ),
    tune_folds: int = typer.Option(3, "--tune-folds", min=2, help="Inner folds of the nested tuning."),
    threshold: Optional[str] = ThresholdOption,
    subgroups: Optional[str] = SubgroupsOption,
) -> None:
    """Compare models on identical splits: metrics with intervals and paired tests
    (with --tune-trials, each method is tuned inside every outer training pool first).
    Writes results.json and details.json (clean test predictions of every repeat; survival
    tasks: each test sample's risk, time, event and survival at the readout horizons).
    With --subgroups, results.json also holds every method's subgroup audit."""
    from omnifuse.evaluation.benchmark import Repeat, run_benchmark  # deferred: keeps `omnifuse --help` fast
    from omnifuse.evaluation.details import DetailsCollector  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.tasks import SINGLE_LABEL_TASKS  # deferred: keeps `omnifuse --help` fast (torch)
    from omnifuse.trust.decisions import (  # deferred: keeps `omnifuse --help` fast (Lightning)
        OperatingPointCollector,
        check_threshold_task,
        parse_columns,
        parse_option,
        subgroup_frame,
    )
    from omnifuse.trust.subgroup_benchmark import (  # deferred: keeps `omnifuse --help` fast (Lightning)
        SubgroupCollector,
        check_subgroup_task,
    )
    from omnifuse.training.config import load_configs  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)

    names = [m.strip() for m in models_arg.split(",") if m.strip()]
    if not names:
        raise ConfigError("--models needs at least one model name")
    if train_split and not test_split:
        raise ConfigError("--train-split needs --test-split (without a test split, k-fold is used)")
    user, _ = load_configs(config, overrides, names)  # every key must belong to the trainer or a model
    if threshold is not None:
        parse_option(threshold)  # a bad rule fails before any data is read
    columns = parse_columns(subgroups)
    check_output_dir(out, allow_existing=True)
    ds = restrict_modalities(load_data(data, strict=strict), modalities)
    check_threshold_task(ds.task, threshold)
    points = (
        OperatingPointCollector(ds, threshold or "youden", n_boot=500 if test_split else 0)
        if ds.task in SINGLE_LABEL_TASKS
        else None
    )
    audit = None
    if columns:  # an unknown column or task fails here, before any training
        check_subgroup_task(ds.task)
        frame = subgroup_frame(ds, columns, Path(data))
        audit = SubgroupCollector(ds, frame, threshold or "youden", n_boot=500 if test_split else 0)
    with progress_bar() as bar:
        n_steps = len(names) * (seeds if test_split else seeds * folds)
        task = bar.add_task("benchmark", total=n_steps)

        def step(name: str, label: str) -> None:
            bar.update(task, advance=1, description=f"{name} ({label})")

        details = DetailsCollector(ds)

        def collect(repeat: Repeat, fitted: dict[str, Any]) -> None:
            details.add(fitted, repeat.test, repeat.label)
            if points is not None:
                points.add(repeat, fitted)
            if audit is not None:
                audit.add(repeat, fitted)

        options: dict[str, Any] = dict(
            folds=folds,
            seeds=seeds,
            train_split=train_split,
            test_split=test_split,
            config=user,
            on_step=step,
            on_repeat=collect,
        )
        if tune_trials:
            from omnifuse.tuning import tuned_benchmark  # deferred: keeps `omnifuse --help` fast (Lightning, Optuna)

            results = tuned_benchmark(ds, names, tune_trials, tune_folds, **options)
        else:
            results = run_benchmark(ds, names, **options)
    from omnifuse.evaluation.documents import write_document  # deferred: keeps `omnifuse --help` fast (matplotlib)

    results.dataset = str(data)
    if points is not None:
        points.apply(results)
    if audit is not None:
        audit.apply(results)
    out.mkdir(parents=True, exist_ok=True)
    write_document(out / "results.json", results)
    write_document(out / "details.json", details.document(str(data)))
    print_benchmark(results)
    print_operating_points(results)
    print_subgroup_benchmark(results)
    console.print(f"results written to {out / 'results.json'} (test predictions: {out / 'details.json'})")
