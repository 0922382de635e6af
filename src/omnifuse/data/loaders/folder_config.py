"""`modalities.yaml`: the optional declaration file of the generic folder format.

Example::

    label: subtype            # column of labels.csv holding the label (default: "label",
                              # or the only column besides sample_id/split/group)
    modalities:
      mrna: {kind: omics}
      vitals: {kind: timeseries, time_unit: hours}
      cxr: {kind: image, column: path}
      notes: {kind: text, column: text}
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, field_validator

from omnifuse.data.spec import MODALITY_KINDS
from omnifuse.data.yaml_config import read_yaml_model

CONFIG_FILE = "modalities.yaml"


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
    modalities: dict[str, ModalityDeclaration] = {}


def read_folder_config(folder: Path) -> FolderConfig:
    """Parse ``folder/modalities.yaml`` if present (an empty config otherwise)."""
    return read_yaml_model(Path(folder) / CONFIG_FILE, FolderConfig)
