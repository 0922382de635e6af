"""The validated contents of a bundle's ``bundle.json`` and ``manifest.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnifuse.utils.validation import validation_message
from omnifuse.errors import DataError
from omnifuse.utils.jsonio import to_jsonable as jsonable  # noqa: F401  (serving.bundle imports it from here)

#: Version of the bundle layout written by this omnifuse; newer versions are refused.
#: 2: the trainer's and the model's configs under ``trainer`` and ``model_config``;
#: 1: one flat ``config`` (still read).
FORMAT_VERSION = 2


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SpecInfo(_Strict):
    """One modality spec (:meth:`omnifuse.data.spec.ModalitySpec.to_dict`)."""

    name: str
    kind: str
    feature_names: list[str]
    shape: list[int]
    time_unit: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class ScalerInfo(_Strict):
    """Training mean (None: never observed) and std of one modality's features."""

    mean: list[float | None]
    std: list[float]


class ReadoutInfo(_Strict):
    """A survival model's readout (:meth:`omnifuse.survival.readout.SurvivalReadout.to_dict`):
    what turns its outputs into risks and survival curves."""

    head: Literal["cox", "logistic_hazard", "estimator"]
    edges: list[float] = Field(default_factory=list)
    baseline_times: list[float] = Field(default_factory=list)
    baseline_hazard: list[float] = Field(default_factory=list)
    shift: float = 0.0
    horizons: list[float] = Field(default_factory=list)
    time_unit: Optional[str] = None


class BundleInfo(_Strict):
    """Everything in ``bundle.json``."""

    format_version: int = Field(ge=1)
    omnifuse_version: str
    versions: dict[str, str] = Field(default_factory=dict)
    model: str
    weights: Literal["safetensors", "skops"]
    trainer: Optional[dict[str, Any]] = None
    model_settings: Optional[dict[str, Any]] = Field(None, alias="model_config")
    config: Optional[dict[str, Any]] = None  # format 1: one flat mapping
    task: str
    class_names: list[str] = Field(description="Empty for a survival task.")
    modalities: list[SpecInfo] = Field(min_length=1)
    scaler: dict[str, ScalerInfo]
    time_unit: Optional[str] = Field(None, description="Survival tasks: unit of the event times.")
    survival: Optional[ReadoutInfo] = Field(None, description="Survival tasks: the model's readout.")
    metrics: dict[str, Any] = Field(default_factory=dict)
    threshold: Optional[float] = Field(
        None, gt=0, lt=1, description="Binary tasks: the operating point (None: 0.5, as before it was stored)."
    )
    threshold_rule: Optional[str] = Field(None, description="The rule that chose it on the validation samples.")
    calibration: Optional[dict[str, Any]] = Field(
        None, description="The temperature fitted on the validation samples (None: uncalibrated)."
    )
    conformal: Optional[dict[str, Any]] = Field(
        None, description="Conformal prediction sets calibrated on the validation samples (None: no sets)."
    )
    best_epoch: int = -1
    train_seconds: float = Field(ge=0)
    n_params: int = Field(ge=0)
    created: str


class FileEntry(_Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class Manifest(_Strict):
    """``manifest.json``: sha256 and size of every other file of the bundle."""

    format_version: int = Field(ge=1)
    files: dict[str, FileEntry]


def read_json_model(path: Path, model: type[BaseModel]) -> Any:
    """``path`` parsed and validated as ``model``; any problem is a one-line DataError."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    try:
        parsed: Any = model.model_validate(raw)
    except ValidationError as exc:
        raise DataError(validation_message(exc, str(path), count_more=True)) from None
    if parsed.format_version > FORMAT_VERSION:
        raise DataError(
            f"{path}: format_version {parsed.format_version} is newer than this omnifuse "
            f"reads ({FORMAT_VERSION}); upgrade omnifuse"
        )
    return parsed
