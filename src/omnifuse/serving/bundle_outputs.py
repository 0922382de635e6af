"""What a bundle stores beside the model: a survival model's readout, a classifier's
temperature and conformal calibration (``bundle.json`` fields ``survival``, ``calibration``,
``conformal``), written from a :class:`FittedModel` and validated when read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from omnifuse.errors import ConfigError, DataError
from omnifuse.serving.schema import BundleInfo, jsonable
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.training.fitted import FittedModel
from omnifuse.uncertainty.calibration import TemperatureScaler
from omnifuse.uncertainty.conformal import ConformalClassifier


def uncertainty_fields(fitted: FittedModel) -> dict[str, Any]:
    """The temperature and conformal calibration of ``fitted`` (nothing when it has none)."""
    out: dict[str, Any] = {}
    if fitted.calibration is not None:
        out["calibration"] = jsonable(fitted.calibration.to_dict())
    if fitted.conformal is not None:
        out["conformal"] = jsonable(fitted.conformal.to_dict())
    return out


def load_uncertainty(info: BundleInfo, where: Path) -> tuple[TemperatureScaler | None, ConformalClassifier | None]:
    """The stored temperature and conformal calibration (None where the bundle has none)."""
    calibration = conformal = None
    try:
        if info.calibration is not None:
            calibration = TemperatureScaler.from_dict(info.calibration)
            if calibration.task != info.task:
                raise ConfigError(f"fitted for a {calibration.task} task, the model's is {info.task}")
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{where}: field 'calibration': {exc}") from None
    try:
        if info.conformal is not None:
            conformal = ConformalClassifier.from_dict(info.conformal)
            if conformal.n_classes != len(info.class_names):
                raise ConfigError(f"{conformal.n_classes} classes, the model has {len(info.class_names)}")
    except ConfigError as exc:
        raise DataError(f"{where}: field 'conformal': {exc}") from None
    return calibration, conformal


def survival_fields(fitted: FittedModel) -> dict[str, Any]:
    """A survival model's time unit and readout (nothing for other tasks)."""
    ds = fitted.context.dataset
    if ds.task != "survival":
        return {}
    if fitted.readout is None:
        raise ConfigError(f"survival model '{fitted.name}' has no readout (risks, survival curves): cannot save it")
    return {"time_unit": ds.labels.time_unit, "survival": jsonable(fitted.readout.to_dict())}


def check_survival_fields(info: BundleInfo) -> None:
    """A survival bundle has no class names, and has a time unit and a readout."""
    if info.class_names:
        raise DataError(f"field 'class_names': a survival model has no classes, got {info.class_names}")
    if not info.time_unit or not info.time_unit.strip():
        raise DataError("field 'time_unit': a survival model's bundle needs the time unit of its event times")
    if info.survival is None:
        raise DataError("field 'survival': a survival model's bundle needs its readout (risks, survival curves)")


def load_readout(info: BundleInfo, where: Path) -> SurvivalReadout | None:
    """The survival readout stored in ``info`` (None for other tasks)."""
    stored = info.survival
    if stored is None:
        return None  # a survival bundle without one was refused with its schema
    if info.task != "survival":
        raise DataError(f"{where}: field 'survival': a {info.task} model has no survival readout")
    if stored.head == "logistic_hazard" and (len(stored.edges) < 2 or np.any(np.diff(stored.edges) <= 0)):
        raise DataError(f"{where}: field 'survival.edges': a logistic-hazard readout needs increasing interval edges")
    if len(stored.baseline_times) != len(stored.baseline_hazard):
        raise DataError(
            f"{where}: field 'survival.baseline_hazard': {len(stored.baseline_hazard)} values for "
            f"{len(stored.baseline_times)} baseline times"
        )
    return SurvivalReadout.from_dict(stored.model_dump())
