"""``omnifuse predict``: a trained run's answers for the samples of a dataset or a JSON file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from omnifuse.cli.common import StrictOption, app, console, load_for_bundle
from omnifuse.errors import ConfigError
from omnifuse.utils.atomic import atomic_file
from omnifuse.utils.jsonio import write_json

OUTPUT_SUFFIXES = (".json", ".csv")


@app.command("predict")
def predict(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train` (uses RUN_DIR/bundle)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset path (folder format or PhysioNet 2012)."),
    split: Optional[str] = typer.Option(None, "--split", help="With --data: only these splits (e.g. test)."),
    input_file: Optional[Path] = typer.Option(
        None,
        "--input",
        help='JSON file: one patient {"modalities": ...} '
        'or {"patients": [...]}, as POST /predict and /predict/batch take.',
    ),
    out: Path = typer.Option(..., "--out", help="Output file: .json (answers with explanations) or .csv (flat table)."),
    strict: bool = StrictOption,
) -> None:
    """Per sample: class probabilities, predicted class, per-modality weights (omega, attention)
    and unimodal probabilities, and the modalities that were absent and imputed; runs trained
    with --set conformal=0.9 add the conformal prediction set (and calibrate=temperature makes
    the probabilities calibrated ones). A survival model gives a risk score and the survival
    curve at its horizons instead."""
    # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.serving.answers import Predictor, flat_rows, weights_description
    from omnifuse.serving.bundle import load_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.serving.set_answers import calibration_info, conformal_info  # deferred: as above

    if (data is None) == (input_file is None):
        raise ConfigError("give either --data PATH or --input FILE.json")
    if split and data is None:
        raise ConfigError("--split needs --data")
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--out {out}: use a .json or .csv file")
    if out.is_dir():
        raise ConfigError(f"{out}: is a directory (--out takes a file)")
    bundle = load_bundle(run / "bundle")
    if data is not None:
        ds = load_for_bundle(bundle, data, split, strict)
        ids = [str(s) for s in ds.sample_ids]
    else:
        assert input_file is not None  # exactly one of --data / --input, checked above
        ds, ids = _load_input(bundle, input_file)
    if ds.task == "survival":
        _predict_survival(bundle, ds, ids, out, {"run": str(run), "source": str(data or input_file), "split": split})
        return
    predictor = Predictor(bundle)
    details = predictor.details(ds)
    threshold = bundle.info.get("threshold")  # the stored operating point (binary; None: argmax)
    answers = predictor.records(ds, details, ids)  # at that threshold; with conformal sets if the bundle has them
    calibration, conformal = calibration_info(bundle), conformal_info(bundle)
    if out.suffix.lower() == ".csv":
        _write_csv(out, flat_rows(answers, ds.modalities, ds.class_names))
    else:
        write_json(
            out,
            {
                "run": str(run),
                "model": bundle.name,
                "task": ds.task,
                "classes": list(ds.class_names),
                "threshold": threshold,
                "modalities": list(ds.modalities),
                "source": str(data if data is not None else input_file),
                "split": split,
                "modality_weights": weights_description(bundle.name, details.weights is not None),
                "calibration": None if calibration is None else calibration.model_dump(),
                "conformal": None if conformal is None else conformal.model_dump(),
                "n_samples": len(answers),
                "predictions": answers,
            },
        )
    counts = Counter(
        a["predicted_class"] if a["predicted_labels"] is None else "|".join(a["predicted_labels"]) for a in answers
    )
    shown = ", ".join(f"{c} {n}" for c, n in counts.most_common(6))
    n_partial = sum(1 for a in answers if a["absent"])
    console.print(f"{bundle.name}: {len(answers)} samples ({n_partial} with absent modalities); predicted {shown}")
    if calibration is not None:
        console.print(f"probabilities calibrated (temperature {calibration.temperature:.3f}, fitted on validation)")
    if conformal is not None:
        sizes = Counter(len(a["prediction_set"]) for a in answers)
        pooled = sum(1 for a in answers if a["conformal"]["threshold_source"] == "pooled")
        console.print(
            f"prediction sets at {conformal.coverage:g} coverage: "
            + ", ".join(f"{n} of size {k}" for k, n in sorted(sizes.items()))
            + f"; {pooled} sample(s) with the pooled threshold (their pattern had too few validation samples)"
        )
    console.print(f"written to {out}")


def _predict_survival(bundle: Any, ds: Any, ids: list[Any], out: Path, about: dict[str, Any]) -> None:
    """A survival model's answers (risk, survival at its horizons) written to ``out``."""
    # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.serving.answers import Predictor, survival_rows, weights_description

    answers = Predictor(bundle).survival_answers(ds, ids)
    if out.suffix.lower() == ".csv":
        _write_csv(out, survival_rows(answers, ds.modalities))
    else:
        readout = bundle.readout
        has_weights = any(a["modality_weights"] is not None for a in answers)
        write_json(
            out,
            {
                "run": about["run"],
                "model": bundle.name,
                "task": ds.task,
                "classes": [],
                "modalities": list(ds.modalities),
                "source": about["source"],
                "split": about["split"],
                "survival_head": readout.head,
                "horizons": list(readout.horizons),
                "time_unit": readout.time_unit,
                "modality_weights": weights_description(bundle.name, has_weights),
                "n_samples": len(answers),
                "predictions": answers,
            },
        )
    n_partial = sum(1 for a in answers if a["absent"])
    risks = np.array([a["risk"] for a in answers])
    shown = f"; risk median {np.median(risks):.3g} (range {risks.min():.3g} to {risks.max():.3g})" if len(risks) else ""
    console.print(f"{bundle.name}: {len(answers)} samples ({n_partial} with absent modalities){shown}")
    console.print(f"written to {out}")


def _load_input(bundle: Any, path: Path) -> tuple[Any, list[Any]]:
    from omnifuse.serving.app import check_servable  # deferred: keeps `omnifuse --help` fast (Lightning, FastAPI)
    from omnifuse.serving.requests_file import read_patients  # deferred: keeps `omnifuse --help` fast (Lightning)

    check_servable(bundle)
    return read_patients(path, bundle.schema)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    import pandas as pd  # deferred: keeps `omnifuse --help` fast (pandas, ~1 s)

    with atomic_file(path) as handle:
        pd.DataFrame(rows).to_csv(handle, index=False)
