"""What every result document shares: a schema version, strict fields, and one way to read
and write it.

A document is a pydantic model. Writers build it and call :func:`write_document`; readers
call the document's own ``read_*`` function, which goes through :func:`read_document`:
the file must be a JSON object with the ``schema_version`` this code reads, and every field
must validate, or the problem is one :class:`omnifuse.errors.DataError` line naming the
file and the field.

Undefined numbers (a metric without positive samples, an interval of one fold) are
``None`` in memory and ``null`` in the file; NaN and infinities are turned into ``None`` on
the way in, so a document written and read back is equal to the one written.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, ClassVar, TypeVar

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from omnifuse.errors import DataError
from omnifuse.utils.jsonio import write_json
from omnifuse.utils.validation import validation_message


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities (Python or numpy) as None; numpy scalars as Python numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


#: A number that may be undefined (None; NaN and infinities become None).
Value = Annotated[float | None, BeforeValidator(_finite_or_none)]


class Strict(BaseModel):
    """A part of a document: unknown fields are errors (a mistyped name never passes silently)."""

    model_config = ConfigDict(extra="forbid")


class MetricStat(Strict):
    """A metric's estimate and its confidence interval."""

    mean: Value
    ci_low: Value
    ci_high: Value


#: One metric per key (``"auroc"``, ``"macro_f1"``, ...).
MetricCell = dict[str, MetricStat]


class Document(Strict):
    """Base of ``results.json``, ``robustness.json`` and ``details.json``.

    Subclasses fix ``schema_version`` to the version they read and write and set ``NAME``
    (how messages call the document).
    """

    NAME: ClassVar[str] = "document"
    schema_version: int = Field(description="Version of the document's layout; bumped on incompatible changes.")

    @classmethod
    def current_version(cls) -> int:
        """The ``schema_version`` this code writes and reads."""
        return int(cls.model_fields["schema_version"].default)


D = TypeVar("D", bound=Document)


class _Version(BaseModel):
    """Only the version of a document (read before the rest, so a newer file gets a clear message)."""

    schema_version: Annotated[int, Field(strict=True)]


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object with NaN and infinities replaced by None; DataError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise DataError(f"{path}: malformed JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object at the top level, got {type(doc).__name__}")
    return _finite(doc)


def read_document(path: Path, model: type[D]) -> D:
    """``path`` read and validated as ``model``; any problem is a one-line DataError."""
    raw = read_json(path)
    current = model.current_version()
    try:
        version = _Version.model_validate(raw).schema_version
    except ValidationError as exc:
        hint = (
            f" (written before omnifuse documents had a schema version, or not a {model.NAME} document: "
            "run the command that writes it again)"
        )
        raise DataError(validation_message(exc, str(path)) + hint) from None
    if version > current:
        raise DataError(
            f"{path}: field 'schema_version': {version} is newer than this omnifuse reads ({current}); upgrade omnifuse"
        )
    if version < current:
        raise DataError(
            f"{path}: field 'schema_version': {version} is older than this omnifuse reads "
            f"({current}); run the command that writes it again"
        )
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise DataError(validation_message(exc, str(path))) from None


def write_document(path: Path, document: Document) -> None:
    """Write ``document`` as strict JSON (undefined values as ``null``), atomically."""
    write_json(path, document.model_dump(mode="json"))


def _finite(value: Any) -> Any:
    """Recursively replace non-finite floats (JSON ``NaN``/``Infinity``) by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
