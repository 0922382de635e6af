"""Strict JSON output: NaN and infinities become ``null``; numpy values become Python ones."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from omnifuse.utils.atomic import atomic_file


def to_jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as None, numpy scalars/arrays as Python objects."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path: str | os.PathLike[str], document: Any) -> None:
    """Write ``document`` as strict, indented JSON, atomically."""
    with atomic_file(path) as handle:
        json.dump(to_jsonable(document), handle, indent=2, allow_nan=False)
