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

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from omnifuse.data.spec import MODALITY_KINDS
from omnifuse.errors import DataError

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
    path = folder / CONFIG_FILE
    if not path.exists():
        return FolderConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return FolderConfig.model_validate(raw)
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{path}: field '{where}': {err['msg']}") from exc
