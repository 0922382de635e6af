"""Model bundles: a trained model saved safely (no pickle) and reloaded exactly.

A bundle is a directory::

    bundle.json          model name, trainer and model configs, data schema, scaler, metrics, ...
    weights.safetensors  the network's state_dict (neural models), or
    model.skops          the fitted estimator(s) (scikit-learn baselines)
    baselines.json       training means feature attributions start from (where the model needs them)
    manifest.json        sha256 and size of every other file

It is written into a temporary sibling directory and renamed into place, so a failure
never leaves half a bundle. Loading verifies the manifest, validates ``bundle.json`` and
rebuilds the model with its class's ``from_config`` from the stored :class:`DatasetSchema`
and model config. ``bundle.json`` stores the two halves of the run's config: ``trainer``
and ``model_config``; a bundle of format 1 (one flat ``config``) is read by splitting it
(keys the model did not own were ignored by it and are dropped). A survival model's bundle
has no class names; it stores the time unit of the event times (``time_unit``) and the
model's readout (``survival``: the :class:`~omnifuse.survival.readout.SurvivalReadout` that
turns its outputs into risks and survival curves), restored as :attr:`Bundle.readout`. A
model trained with ``calibrate`` or ``conformal`` stores its temperature (``calibration``)
and its conformal thresholds per availability pattern (``conformal``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import sklearn
import skops
import torch

import omnifuse
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.scaling import Standardizer
from omnifuse.data.schema import DatasetSchema, check_compatible
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError, DataError, DataWarning, OmnifuseError
from omnifuse.models.config import config_class_of
from omnifuse.models.ensemble import build_model
from omnifuse.models.registry import ModelEntry, get_model
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.serving.bundle_outputs import (
    check_survival_fields,
    load_readout,
    load_uncertainty,
    survival_fields,
    uncertainty_fields,
)
from omnifuse.serving.manifest import INFO_FILE, MANIFEST_FILE, verify_manifest, write_manifest
from omnifuse.serving.schema import FORMAT_VERSION, BundleInfo, jsonable, read_json_model
from omnifuse.serving.weights import SKOPS_FILE, TORCH_FILE, load_skops, load_torch, save_skops, save_torch
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.training.config import RunConfig, resolve_config, validate_trainer
from omnifuse.training.fit import FittedModel, SplitContext
from omnifuse.trust.attributions.baselines import AttributionBaselines
from omnifuse.uncertainty.calibration import TemperatureScaler
from omnifuse.uncertainty.conformal import ConformalClassifier

#: Optional (bundles saved before it lack it; readers that do not know it ignore it).
BASELINES_FILE = "baselines.json"


@dataclass
class Bundle:
    """A loaded bundle: the model (eval mode) and what it needs to predict on new data.

    ``info`` is the whole validated ``bundle.json`` (versions, best_epoch, n_params, ...);
    ``config`` the run's trainer and model configs; ``readout`` a survival model's readout
    (None for other tasks); ``baselines`` the training means attributions need (None: the
    bundle stores none).
    """

    name: str
    config: RunConfig
    schema: DatasetSchema
    scaler: Standardizer
    model: Any
    metrics: dict[str, Any]
    info: dict[str, Any]
    directory: Path
    readout: SurvivalReadout | None = None
    baselines: AttributionBaselines | None = None
    calibration: TemperatureScaler | None = None
    conformal: ConformalClassifier | None = None

    def fitted(self, dataset: MultimodalDataset) -> FittedModel:
        """The model predicting on ``dataset`` (checked compatible first), standardised with
        the training statistics: ``fitted(ds).predict_proba(np.arange(len(ds)))``."""
        check_compatible(self.schema, dataset, str(self.directory))
        context = SplitContext(dataset, np.arange(0), scaler=self.scaler)
        return FittedModel(
            self.name,
            self.model,
            self.config,
            context,
            float(self.info["train_seconds"]),
            int(self.info["best_epoch"]),
            readout=self.readout,
            calibration=self.calibration,
            conformal=self.conformal,
        )


def save_bundle(
    fitted: FittedModel,
    directory: Path,
    metrics: dict[str, Any] | None = None,
    threshold: tuple[float, str] | None = None,
) -> Path:
    """Write ``fitted`` as a bundle at ``directory`` (replacing an earlier bundle there).

    ``threshold`` (binary tasks): ``(value, rule)``, the operating point chosen on the
    validation samples, stored in ``bundle.json`` and used for the predicted class.

    Raises:
        ConfigError: ``directory`` exists and is not a bundle (nothing is overwritten), or
            the model cannot be saved.
    """
    directory = Path(directory)
    if directory.exists() and (
        not directory.is_dir() or (any(directory.iterdir()) and not (directory / MANIFEST_FILE).exists())
    ):
        raise ConfigError(f"{directory}: exists and is not a model bundle; not overwriting it")
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".tmp", dir=directory.parent))
    try:
        weights = _save_model(fitted, tmp)
        _save_baselines(fitted, tmp)
        info = _info(fitted, weights, metrics)
        if threshold is not None:
            info.update(threshold=float(threshold[0]), threshold_rule=str(threshold[1]))
        (tmp / INFO_FILE).write_text(json.dumps(info, indent=2, allow_nan=False), encoding="utf-8")
        write_manifest(tmp)
        _swap_in(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load_bundle(directory: Path) -> Bundle:
    """Verify and load the bundle at ``directory``; never unpickles.

    Raises:
        DataError: a missing or changed file (named), a malformed ``bundle.json`` (the field
            is named), or weights that do not fit the rebuilt model.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: no such bundle directory")
    if not (directory / MANIFEST_FILE).exists():
        raise DataError(f"{directory}: not a model bundle (no {MANIFEST_FILE})")
    listed = verify_manifest(directory)
    info: BundleInfo = read_json_model(directory / INFO_FILE, BundleInfo)
    where = directory / INFO_FILE
    schema = _schema(info, where)
    scaler = _scaler(info, schema, where)
    readout = load_readout(info, where)
    calibration, conformal = load_uncertainty(info, where)
    try:
        entry = get_model(info.model)
        config = _run_config(info, entry, where)
        with torch.random.fork_rng(devices=[]):  # building must not move the caller's RNG
            model = build_model(entry, schema, config.model, members=config.trainer.ensemble)
    except (OmnifuseError, ValueError, TypeError, RuntimeError) as exc:
        raise DataError(f"{where}: cannot rebuild the model ({' '.join(str(exc).split())})") from None
    _check_versions(info, directory)
    if isinstance(model, SklearnBaseline):
        _expect(info, "skops", where, listed)
        model.estimator = _checked_estimator(load_skops(directory / SKOPS_FILE), model, directory / SKOPS_FILE)
    else:
        _expect(info, "safetensors", where, listed)
        load_torch(model, directory / TORCH_FILE)
    baselines = _load_baselines(directory) if BASELINES_FILE in listed else None
    return Bundle(
        info.model,
        config,
        schema,
        scaler,
        model,
        dict(info.metrics),
        info.model_dump(by_alias=True),
        directory,
        readout=readout,
        baselines=baselines,
        calibration=calibration,
        conformal=conformal,
    )


# ---------------------------------------------------------------- manifest
# ---------------------------------------------------------------- saving
def _save_model(fitted: FittedModel, directory: Path) -> str:
    if fitted.is_neural:
        save_torch(fitted.model, directory / TORCH_FILE)
        return "safetensors"
    if isinstance(fitted.model, SklearnBaseline):
        if fitted.model.estimator is None:
            raise ConfigError(f"model '{fitted.name}' is not fitted: nothing to save")
        save_skops(fitted.model.estimator, directory / SKOPS_FILE)
        return "skops"
    raise ConfigError(f"cannot save a {type(fitted.model).__name__} model in a bundle")


def _save_baselines(fitted: FittedModel, directory: Path) -> None:
    """``baselines.json`` when the model's attributions need training means (see
    :mod:`omnifuse.trust.attributions.baselines`); nothing to store: no file."""
    baselines = AttributionBaselines.from_training(fitted)
    if baselines.modalities or baselines.flat is not None:
        text = json.dumps(jsonable(baselines.to_dict()), allow_nan=False)
        (directory / BASELINES_FILE).write_text(text, encoding="utf-8")


def _load_baselines(directory: Path) -> AttributionBaselines:
    path = directory / BASELINES_FILE
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(state, dict):
        raise DataError(f"{path}: expected a JSON object")
    return AttributionBaselines.from_dict(state, str(path))


def _info(fitted: FittedModel, weights: str, metrics: dict[str, Any] | None) -> dict[str, Any]:
    ds = fitted.context.dataset
    specs = [jsonable(ds.specs[m].to_dict()) for m in ds.modalities]
    return {
        "format_version": FORMAT_VERSION,
        "omnifuse_version": omnifuse.__version__,
        "versions": _versions(weights),
        "model": fitted.name,
        "weights": weights,
        "trainer": jsonable(fitted.config.trainer.model_dump()),
        "model_config": jsonable(fitted.config.model.model_dump(mode="json")),
        "task": ds.task,
        "class_names": list(ds.class_names),
        "modalities": specs,
        "scaler": fitted.context.scaler.to_dict(),
        "metrics": jsonable(dict(metrics or {})),
        "best_epoch": int(fitted.best_epoch),
        "train_seconds": float(fitted.train_seconds),
        "n_params": int(fitted.n_params()),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **survival_fields(fitted),
        **uncertainty_fields(fitted),
    }


def _versions(weights: str) -> dict[str, str]:
    if weights == "skops":
        return {"scikit-learn": sklearn.__version__, "skops": skops.__version__}
    return {"torch": torch.__version__, "safetensors": safetensors.__version__}


def _swap_in(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; an earlier ``target`` is moved aside first and removed
    after, so ``target`` is always either the old or the new complete bundle."""
    if not target.exists():
        os.replace(tmp, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
    os.replace(target, old / "bundle")
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old / "bundle", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- loading
def _run_config(info: BundleInfo, entry: ModelEntry, where: Path) -> RunConfig:
    """The stored trainer and model configs (format 1: the flat config, split by owner)."""
    if info.trainer is not None and info.model_settings is not None:
        trainer = validate_trainer(info.trainer, source=f"{where}: trainer")
        return RunConfig(trainer, config_class_of(entry).load(info.model_settings, f"{where}: model_config"))
    if info.config is not None:
        return resolve_config(entry, info.config, source=f"{where}: config", ignore_unknown=True)
    raise ConfigError(f"{where}: field 'trainer': Field required (with 'model_config'; or 'config' of format 1)")


def _schema(info: BundleInfo, where: Path) -> DatasetSchema:
    try:
        specs = [ModalitySpec.from_dict(s.model_dump()) for s in info.modalities]
        if info.task == "survival":
            check_survival_fields(info)
            Labels.survival(np.zeros(0), np.zeros(0, dtype=bool), str(info.time_unit))  # validates the unit
        else:
            if not info.class_names:
                raise DataError(f"field 'class_names': a {info.task} model needs its class names")
            Labels(
                info.task,
                np.zeros((0, len(info.class_names)) if info.task == "multilabel" else 0, dtype=np.int64),
                tuple(info.class_names),
            )  # validates task and class names
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise DataError(f"{where}: field 'modalities': duplicate modality names {names}")
    time_unit = info.time_unit.strip() if info.task == "survival" and info.time_unit else None
    return DatasetSchema({s.name: s for s in specs}, info.task, tuple(info.class_names), time_unit)


def _scaler(info: BundleInfo, schema: DatasetSchema, where: Path) -> Standardizer:
    for name, entry in info.scaler.items():
        if name not in schema.specs:
            raise DataError(f"{where}: field 'scaler.{name}': not a modality of the bundle")
        width = schema.specs[name].n_features
        if len(entry.mean) != width or len(entry.std) != width:
            raise DataError(
                f"{where}: field 'scaler.{name}': {len(entry.mean)} means and {len(entry.std)} "
                f"stds for {width} features"
            )
    return Standardizer.from_dict({k: v.model_dump() for k, v in info.scaler.items()})


def _expect(info: BundleInfo, weights: str, where: Path, listed: set[str]) -> None:
    """The model's weights are in the expected format and covered by the manifest."""
    if info.weights != weights:
        raise DataError(f"{where}: field 'weights': model '{info.model}' is stored as {weights}, not {info.weights}")
    name = SKOPS_FILE if weights == "skops" else TORCH_FILE
    if name not in listed:
        raise DataError(f"{where.parent / MANIFEST_FILE}: does not list {name}")


def _checked_estimator(estimator: Any, baseline: SklearnBaseline, path: Path) -> Any:
    """``estimator`` if it has the shape ``baseline`` stores (see ``SklearnBaseline.accepts``)."""
    if not baseline.accepts(estimator):
        raise DataError(
            f"{path}: holds a {type(estimator).__name__}, "
            f"not what '{baseline.name}' expects ({type(baseline.make_estimator()).__name__})"
        )
    return estimator


def _check_versions(info: BundleInfo, directory: Path) -> None:
    """Warn when the libraries that read the weights differ from those that wrote them."""
    current = _versions(info.weights)
    changed = [f"{k} {v} (now {current[k]})" for k, v in info.versions.items() if k in current and current[k] != v]
    if changed:
        warnings.warn(
            f"{directory}: saved with {', '.join(changed)}; predictions may differ slightly", DataWarning, stacklevel=3
        )
