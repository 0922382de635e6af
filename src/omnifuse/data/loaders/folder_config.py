"""`modalities.yaml`: the optional declaration file of the generic folder format.

Example::

    label: subtype            # column of labels.csv holding the label (default: "label",
                              # or the only column besides sample_id/split/group)
    modalities:
      mrna: {kind: omics}
      vitals: {kind: timeseries, time_unit: hours}
      cxr: {kind: image, column: path}
      notes: {kind: text, column: text}

A survival cohort declares its task and time unit instead of a label column; labels.csv then
holds the time and event columns (named ``time`` and ``event`` unless declared)::

    task: survival
    time_unit: days           # required for survival
    time: t_dm                # default "time": event or censoring time, >= 0
    event: e_dm               # default "event": 1 = event observed, 0 = censored
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from omnifuse.data.spec import MODALITY_KINDS
from omnifuse.data.yaml_config import read_yaml_model
from omnifuse.tasks import CLASSIFICATION_TASKS, TASK_NAMES

CONFIG_FILE = "modalities.yaml"
#: Tasks a modalities.yaml may declare (classification tasks follow from the label values).
DECLARABLE_TASKS = tuple(name for name in TASK_NAMES if name not in CLASSIFICATION_TASKS)
DEFAULT_TIME_COLUMN = "time"
DEFAULT_EVENT_COLUMN = "event"


class ModalityDeclaration(BaseModel):
    """How one modality file is to be read."""

    model_config = ConfigDict(extra="forbid")

    kind: str = "tabular"
    time_unit: Optional[str] = None
    column: Optional[str] = None

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in MODALITY_KINDS:
            raise ValueError(f"unknown kind '{value}' (valid: {', '.join(MODALITY_KINDS)})")
        return value


class FolderConfig(BaseModel):
    """Contents of ``modalities.yaml``."""

    model_config = ConfigDict(extra="forbid")

    label: Optional[str] = None
    task: Optional[str] = None
    time_unit: Optional[str] = Field(default=None, validate_default=True)
    time: Optional[str] = None
    event: Optional[str] = None
    modalities: dict[str, ModalityDeclaration] = {}

    @field_validator("task")
    @classmethod
    def _declarable_task(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        if value is not None and value not in DECLARABLE_TASKS:
            raise ValueError(
                f"unknown task '{value}' (valid: {', '.join(DECLARABLE_TASKS)}; classification "
                "tasks are inferred from the label column)"
            )
        if value == "survival" and info.data.get("label") is not None:
            raise ValueError("a survival task reads the time and event columns, not a 'label' column")
        return value

    @field_validator("time_unit")
    @classmethod
    def _survival_time_unit(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        if info.data.get("task") == "survival" and not (value or "").strip():
            raise ValueError("task: survival needs the unit of the times (e.g. time_unit: days)")
        return _survival_only(value, info)

    @field_validator("time", "event")
    @classmethod
    def _survival_column(cls, value: Optional[str], info: ValidationInfo) -> Optional[str]:
        if value is not None and info.field_name == "event" and value == (info.data.get("time") or DEFAULT_TIME_COLUMN):
            raise ValueError(f"'time' and 'event' name the same column '{value}'")
        return _survival_only(value, info)

    @property
    def time_column(self) -> str:
        return self.time or DEFAULT_TIME_COLUMN

    @property
    def event_column(self) -> str:
        return self.event or DEFAULT_EVENT_COLUMN


def _survival_only(value: Optional[str], info: ValidationInfo) -> Optional[str]:
    if value is not None and info.data.get("task") != "survival":
        raise ValueError("only applies to 'task: survival'")
    return value


def read_folder_config(folder: Path) -> FolderConfig:
    """Parse ``folder/modalities.yaml`` if present (an empty config otherwise)."""
    return read_yaml_model(Path(folder) / CONFIG_FILE, FolderConfig)
