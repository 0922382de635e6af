"""Optional YAML declaration files in a data folder (``modalities.yaml``, ``sleep.yaml``)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from omnifuse.utils.validation import validation_message
from omnifuse.errors import DataError

M = TypeVar("M", bound=BaseModel)


def read_yaml_model(path: Path, model: type[M]) -> M:
    """``path`` parsed into ``model`` (its defaults when the file is absent); a YAML or
    validation problem is one DataError naming the file and the field."""
    path = Path(path)
    if not path.exists():
        return model()
    try:
        return model.model_validate(yaml.safe_load(path.read_text()) or {})
    except yaml.YAMLError as exc:
        raise DataError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from exc
    except ValidationError as exc:
        raise DataError(validation_message(exc, str(path))) from exc
