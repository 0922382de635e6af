"""``omnifuse evaluate``: a trained run on a dataset, optionally corrupted."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from omnifuse.cli.app import app
from omnifuse.cli.common import DataOption, StrictOption, console, load_data
from omnifuse.errors import ConfigError

TestSplitOption = typer.Option(None, "--test-split", help="Evaluate on these splits (e.g. b); default all samples.")


def evaluated_indices(ds: Any, test_split: str | None) -> np.ndarray:
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
            raise ConfigError(
                f"--noise '{text}': '{kind}' is not a noise kind "
                "(valid: gaussian:LEVEL >= 0, dropout:RATE, segment:FRACTION, flatline:FRACTION; "
                "use --drop MODALITY=RATE for missingness)"
            )
        specs.append(text)
    return specs


@app.command("evaluate")
def evaluate(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train`."),
    data: Path = DataOption,
    test_split: Optional[str] = TestSplitOption,
    drop: Optional[list[str]] = typer.Option(
        None, "--drop", help="Make MODALITY absent for a share RATE of test samples: MOD=RATE or any=RATE (repeatable)."
    ),
    noise: Optional[list[str]] = typer.Option(
        None, "--noise", help="Corrupt values: MOD=KIND:LEVEL, KIND gaussian|dropout|segment|flatline (repeatable)."
    ),
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
    test = evaluated_indices(ds, test_split)
    _warn_training_overlap(run, data, ds, test)
    document = evaluate_bundle(bundle, ds, test, corruptions, draws=draws, seed=seed)
    document.update({"run": str(run), "data": str(data), "test_split": test_split})
    write_json(out, document)
    shown_metrics = ("c_index", "uno_c", "ibs") if ds.task == "survival" else ("auroc", "macro_f1", "brier")
    shown = ", ".join(f"{m} {document['metrics'][m]['mean']:.3f}" for m in shown_metrics)
    console.print(
        f"{bundle.name} on {document['n_samples']} samples"
        + (f" with {', '.join(document['corruptions'])}" if corruptions else "")
        + f": {shown}"
    )
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
        warnings.warn(
            f"{shared} of the {len(test)} evaluated samples were in the run's training/validation pool: "
            "these metrics are optimistic (use --test-split with a split the run did not train on)",
            stacklevel=1,
        )
