"""``omnifuse train``: one model, validation carved from its training samples."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer

from omnifuse.cli.common import (
    ConfigOption,
    DataOption,
    ModalitiesOption,
    SetOption,
    StrictOption,
    app,
    check_output_dir,
    check_resume,
    console,
    interactive,
    load_data,
    restrict_modalities,
)
from omnifuse.errors import ConfigError
from omnifuse.utils.atomic import atomic_file
from omnifuse.utils.jsonio import write_json


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
    threshold: Optional[str] = typer.Option(
        None,
        "--threshold",
        help="Binary tasks: the operating point stored in the bundle, chosen on the validation samples: "
        "youden (default), f1, sens=0.9, spec=0.9 or a fixed threshold in (0, 1).",
    ),
) -> None:
    """Train one model; validation is carved out of the training samples (grouped, stratified).
    Binary tasks store the operating point (--threshold) that predict and serve decide with."""
    from omnifuse.data.splits import holdout_indices  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)
    from omnifuse.models import get_model  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)
    from omnifuse.training.config import load_config  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)
    from omnifuse.training.fit import SplitContext, fit  # deferred: keeps `omnifuse --help` fast (Lightning)
    from omnifuse.training.posthoc import check_posthoc  # deferred: keeps `omnifuse --help` fast (Lightning)

    from omnifuse.trust.decisions import check_threshold_task, parse_option  # deferred: keeps `omnifuse --help` fast

    if threshold is not None:
        parse_option(threshold)  # a bad rule fails before anything is read or written
    entry = get_model(model)
    run_config = load_config(config, overrides, model=entry)  # a key the model does not own fails here
    trainer = run_config.trainer
    if interactive() and "progress" not in trainer.model_fields_set:
        run_config = replace(
            run_config, trainer=trainer.model_copy(update={"progress": True})
        )  # a progress bar per epoch
    check_output_dir(out, allow_existing=resume)
    ds = restrict_modalities(load_data(data, strict=strict), modalities)
    check_threshold_task(ds.task, threshold)
    pool = ds.split_indices(train_split) if train_split else np.arange(len(ds))
    train_idx, val_idx = holdout_indices(ds, pool, trainer.val_fraction, seed=trainer.seed)
    check_posthoc(trainer, ds.task)  # calibrate / conformal the task cannot have: before anything is written
    _check_conformal_samples(trainer, len(val_idx))
    entry.build(ds, run_config.model)  # fails on a bad option before anything is written
    identity = {
        "model": entry.name,
        "data": str(Path(data).resolve()),
        "modalities": list(ds.modalities),
        "config": run_config.flat(),
    }
    if resume:
        check_resume(out, identity)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_file(out / "run_config.json") as handle:
        json.dump(identity, handle, indent=2)
    fitted = fit(
        entry.name, SplitContext(ds, train_idx, val_idx), run_config, run_dir=out, checkpoints=True, resume=resume
    )
    from omnifuse.evaluation.metrics import compute_metrics  # deferred: keeps `omnifuse --help` fast (torch, scipy)
    from omnifuse.evaluation.survival_metrics import (  # deferred: keeps `omnifuse --help` fast (torch)
        compute_survival_metrics,
        predict_survival,
    )
    from omnifuse.serving.set_answers import calibration_info, conformal_info  # deferred: keeps `omnifuse --help` fast
    from omnifuse.serving.bundle import save_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)

    if ds.task == "survival":
        val_metrics = compute_survival_metrics(predict_survival(fitted, val_idx))
    else:
        val_metrics = compute_metrics(fitted.predict_proba(val_idx), ds.y[val_idx], ds.task)
    point = _operating_point(fitted, val_idx, threshold) if ds.task == "binary" else None
    save_bundle(fitted, out / "bundle", metrics=val_metrics, threshold=point)
    calibration, conformal = calibration_info(fitted), conformal_info(fitted)
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
        "threshold": None if point is None else {"value": point[0], "rule": point[1], "chosen_on": "validation"},
        "validation_note": "the validation set also chose the best epoch: these metrics are optimistic"
        + (
            "; ensemble members after the first carved their own validation sets, partly "
            "training on this one: more optimistic still"
            if fitted.config.trainer.ensemble > 1
            else ""
        ),
        "calibration": None if calibration is None else {**calibration.model_dump(), "fitted_on": "validation"},
        "conformal": None if conformal is None else {**conformal.model_dump(), "calibrated_on": "validation"},
        "config": fitted.config.flat(),
        "bundle": "bundle",
    }
    write_json(out / "run.json", summary)
    console.print(
        f"trained {entry.name}: validation "
        + ", ".join(f"{k} {v:.3f}" for k, v in val_metrics.items() if v is not None)
        + ("" if point is None else f"; threshold {point[0]:.3f} ({point[1]} on validation)")
        + ("" if calibration is None else f"; temperature {calibration.temperature:.3f}")
        + ("" if conformal is None else "\n" + _conformal_line(conformal))
        + f"\nrun written to {out} (model bundle: {out / 'bundle'})"
    )


def _conformal_line(info: Any) -> str:
    """The conformal thresholds per availability pattern, and the pooled one (with the
    patterns that fall back on it)."""
    own = ", ".join(
        f"{name} {p.threshold:.3f} (n={p.n}{', masked' if p.source == 'masked' else ''})"
        for name, p in info.patterns.items()
    )
    fallback = ", ".join(f"{name} (n={n})" for name, n in info.pooled_patterns.items())
    return (
        f"conformal sets at {info.coverage:g} coverage{' by class' if info.by_class else ''}, "
        f"thresholds: {own or 'no pattern has its own'}; "
        f"pooled {info.pooled_threshold:.3f} (n={info.n_calibration})"
        + (f" for {fallback} and unseen patterns" if fallback else " for unseen patterns")
    )


def _check_conformal_samples(trainer: Any, n_val: int) -> None:
    """``conformal`` needs enough validation samples for a finite threshold (one line)."""
    from omnifuse.uncertainty.conformal import min_calibration  # deferred: keeps `omnifuse --help` fast

    if trainer.conformal is None:
        return
    need = min_calibration(trainer.conformal)
    if n_val < need:
        raise ConfigError(
            f"conformal={trainer.conformal:g} needs at least {need} validation samples to calibrate on, "
            f"this run has {n_val} (val_fraction={trainer.val_fraction:g}): lower the coverage or "
            "give more samples to validation"
        )


def _operating_point(fitted: Any, val_idx: np.ndarray, rule: str | None) -> tuple[float, str] | None:
    """``(threshold, rule)`` chosen on the validation samples; the default rule (Youden) on
    validation samples of one class stores none (a warning; predictions stay at 0.5)."""
    from omnifuse.trust.operating_points import choose_threshold, parse_rule  # deferred: keeps `omnifuse --help` fast

    parsed = parse_rule(rule or "youden")
    ds = fitted.context.dataset
    try:
        value = choose_threshold(fitted.predict_proba(val_idx), ds.y[val_idx], parsed)
        # kept inside (0, 1): a saturated probability of exactly 0 or 1 can be a chosen cut
        return float(np.clip(value, np.nextafter(0.0, 1.0), np.nextafter(1.0, 0.0))), str(parsed)
    except ConfigError as exc:
        if rule is not None:
            raise
        warnings.warn(f"no operating point stored ({exc}): predictions use 0.5", stacklevel=2)
        return None
