"""``omnifuse explain``: per patient and present modality, the features that moved a trained
run's prediction, written as ``explain.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from omnifuse.cli.common import DataOption, StrictOption, app, console, load_for_bundle, split_names
from omnifuse.errors import ConfigError, DataError

#: The file name ``omnifuse report DIR`` reads explanations from.
REPORT_NAME = "explain.json"


@app.command("explain")
def explain(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train` (uses RUN_DIR/bundle)."),
    data: Path = DataOption,
    split: Optional[str] = typer.Option(None, "--split", help="Only these splits (e.g. test); default all samples."),
    ids: Optional[str] = typer.Option(None, "--ids", help="Only these sample ids (comma-separated), in this order."),
    top: int = typer.Option(5, "--top", min=1, help="Features (and time windows) kept per patient and modality."),
    steps: int = typer.Option(
        128, "--steps", min=2, help="Integration points of integrated gradients (neural models); more: smaller delta."
    ),
    window: float = typer.Option(
        6.0, "--window", help="Width of the time windows series attributions are summed over (the series' time unit)."
    ),
    out: Path = typer.Option(
        ..., "--out", help=f"Output JSON file; name it {REPORT_NAME} in a folder for `omnifuse report` to show it."
    ),
    strict: bool = StrictOption,
) -> None:
    """Feature attributions per patient: each present modality's share of the total and its top
    features (name, value, signed attribution); absent modalities get none. Neural models:
    integrated gradients from the training mean; sk-hgb: tree SHAP; sk-logreg, sk-stack: exact
    linear SHAP (sk-stack multiclass: per modality exact, integrated gradients within)."""
    from omnifuse.evaluation.documents import write_document  # deferred: keeps `omnifuse --help` fast (matplotlib)
    from omnifuse.serving.answers import weights_description  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.serving.bundle import load_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.trust.attributions import (  # deferred: keeps `omnifuse --help` fast (Lightning, captum)
        attribution_method,
        check_explainable,
        explanations_document,
    )
    from omnifuse.trust.attributions import explain as attribute  # deferred: keeps `omnifuse --help` fast (Lightning)

    if out.is_dir():
        raise ConfigError(f"{out}: is a directory (--out takes a file)")
    if out.suffix.lower() != ".json":
        raise ConfigError(f"--out {out}: use a .json file")
    if not window > 0:
        raise ConfigError(f"--window {window}: must be positive")
    bundle = load_bundle(run / "bundle")
    check_explainable(bundle.model, bundle.schema.task, bundle.name)  # before loading any data
    ds = load_for_bundle(bundle, data, split, strict)
    if ids:
        ds = ds.subset(_positions(ds, split_names(ids), split))
    if not len(ds):
        raise DataError(f"{data}: no samples to explain" + (f" in split '{split}'" if split else ""))
    fitted = bundle.fitted(ds)
    index = np.arange(len(ds))
    options: dict[str, Any] = {"n_steps": steps, "window": window} if fitted.is_neural else {}
    answers = attribute(fitted, index, top_k=None, baselines=bundle.baselines, **options)
    weights = fitted.predict_details(index).weights
    document = explanations_document(
        answers,
        ds,
        top,
        attribution_method(bundle.model, ds.task),
        weights=weights,
        weights_description=weights_description(bundle.name, weights is not None),
        run=str(run),
        model=bundle.name,
        data=str(data),
        split=split,
    )
    write_document(out, document)
    absent = dict(zip(ds.modalities, (~ds.mask).sum(axis=0).tolist()))
    shares = ", ".join(
        f"{m} {s.mean_share:.2f}" + (f" (absent for {absent[m]})" if absent[m] else "")
        for m, s in document.summary.items()
        if s.mean_share is not None
    )
    worst = max((abs(a.delta) for a in answers), default=0.0)
    console.print(
        f"{bundle.name}: {len(answers)} patients explained ({document.method}); mean share per modality: {shares}"
        + (f"; largest integration error {worst:.2g} (raise --steps to reduce it)" if fitted.is_neural else "")
    )
    console.print(f"written to {out}")


def _positions(ds: Any, wanted: list[str], split: str | None) -> np.ndarray:
    """Dataset positions of sample ids ``wanted`` (DataError naming the first unknown one)."""
    where = {str(s): i for i, s in enumerate(ds.sample_ids)}
    unknown = [w for w in wanted if w not in where]
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise DataError(f"--ids: no sample '{unknown[0]}'{more} in the data" + (f" split '{split}'" if split else ""))
    return np.array([where[w] for w in wanted], dtype=np.int64)
