"""One patient's modalities, given as JSON, checked against a model's schema.

A patient is ``{"<modality>": <data>, ...}`` with any non-empty subset of the model's
modalities (the others are absent). ``<data>`` depends on the modality's kind:

* **vector kinds** (``tabular``, ``omics``, ``embedding``): an object
  ``{"<feature>": value, ...}`` holding any subset of the features (features left out
  were not measured), or an array of exactly ``n_features`` values in feature order;
* **time series** (``timeseries``): an array of observations
  ``[{"time": t, "<channel>": value, ...}, ...]`` in the modality's time unit; channels
  left out of an observation were not measured then; observations are sorted by time and
  an observation without any channel value is ignored;
* ``image``, ``text`` and ``signal`` modalities cannot be sent as JSON values: predict on
  such data with ``omnifuse predict --data``.

A value is a finite JSON number, or ``null`` for "not measured". Booleans, strings
(including ``"NaN"``), NaN and infinities are refused. A modality that is sent must hold
at least one measured value: leave a modality out to mark it absent.

Every problem is reported as a :class:`FieldProblem` whose ``loc`` is the path of the
offending field inside the patient's modalities, e.g. ``("mrna", "ESR1")``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from omnifuse.data.schema import DatasetSchema
from omnifuse.data.spec import ModalitySpec, VECTOR_KINDS
from omnifuse.errors import DataError

#: Name of the time stamp of an observation of a time series.
TIME_KEY = "time"
#: Kinds a patient can send as JSON values.
ACCEPTED_KINDS = frozenset(VECTOR_KINDS | {"timeseries"})
#: Values beyond float32 cannot be held by the model's inputs.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: At most this many problems are collected per request (the rest are counted).
MAX_PROBLEMS = 20
#: "Did you mean" hints search at most this many names (their cost is paid per unknown key).
HINT_LIMIT = 300

Loc = tuple[Union[str, int], ...]


@dataclass(frozen=True)
class FieldProblem:
    """One invalid field: where (``loc``), what is wrong (``msg``) and a short error ``type``."""

    loc: Loc
    msg: str
    type: str

    def prefixed(self, prefix: Loc) -> "FieldProblem":
        return FieldProblem(tuple(prefix) + self.loc, self.msg, self.type)


class InputError(DataError):
    """A patient's JSON does not fit the model; ``problems`` names every field at fault."""

    def __init__(self, problems: Sequence[FieldProblem], source: str = "") -> None:
        self.problems = list(problems)
        shown = "; ".join(f"field '{dotted(p.loc)}': {p.msg}" for p in self.problems[:3])
        more = f" (and {len(self.problems) - 3} more problems)" if len(self.problems) > 3 else ""
        super().__init__(f"{source}: {shown}{more}" if source else shown + more)

    def prefixed(self, prefix: Loc, source: str = "") -> "InputError":
        """The same problems located under ``prefix`` (e.g. ``("patients", 3, "modalities")``)."""
        return InputError([p.prefixed(prefix) for p in self.problems], source)


def dotted(loc: Loc) -> str:
    """``("patients", 0, "modalities", "mrna")`` as ``patients[0].modalities.mrna``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(body)"


@dataclass(frozen=True)
class Series:
    """One patient's time series: ``times`` ``(T,)`` and ``values`` ``(T, C)`` (NaN = not measured)."""

    times: np.ndarray
    values: np.ndarray


#: A parsed modality: a float32 vector ``(n_features,)`` or a :class:`Series`.
Parsed = Union[np.ndarray, Series]


def parse_patient(modalities: Any, schema: DatasetSchema) -> dict[str, Parsed]:
    """The patient's modalities as arrays in the schema's feature order.

    Raises:
        InputError: every problem found (up to :data:`MAX_PROBLEMS`), located relative to
            the modalities object.
    """
    problems = _Problems()
    if not isinstance(modalities, Mapping):
        problems.add((), "expected an object mapping modality names to their data", "object_type")
        problems.raise_if_any()
    if not modalities:
        problems.add((), "no modality given: send at least one of " + ", ".join(schema.modalities), "empty")
    parsed: dict[str, Parsed] = {}
    for name, value in modalities.items():
        spec = schema.specs.get(name)
        if spec is None:
            problems.add(
                (name,), lambda: _unknown("modality", name, schema.modalities, "the model takes"), "unknown_modality"
            )
        elif spec.kind not in ACCEPTED_KINDS:
            problems.add(
                (name,),
                f"a {spec.kind} modality cannot be sent as JSON; leave it out (absent) or use "
                "`omnifuse predict --data` with the files",
                "unsupported_kind",
            )
        elif spec.kind == "timeseries":
            series = _series(value, spec, problems)
            if series is not None:
                parsed[name] = series
        else:
            vector = _vector(value, spec, problems)
            if vector is not None:
                parsed[name] = vector
    problems.raise_if_any()
    return parsed


# ---------------------------------------------------------------- vectors
def _vector(value: Any, spec: ModalitySpec, problems: "_Problems") -> np.ndarray | None:
    loc: Loc = (spec.name,)
    width = spec.n_features
    out = np.full(width, np.nan, dtype=np.float32)
    before = len(problems)
    if isinstance(value, Mapping):
        index = _feature_index(spec)
        for feature, raw in value.items():
            j = index.get(feature)
            if j is None:
                problems.add(
                    loc + (feature,),
                    lambda: _unknown(
                        "feature", feature, spec.feature_names, f"'{spec.name}' has {width} features, e.g."
                    ),
                    "unknown_feature",
                )
                continue
            out[j] = _number(raw, loc + (feature,), problems)
    elif isinstance(value, list) and not (value and all(isinstance(v, Mapping) for v in value)):
        if len(value) != width:
            problems.add(loc, f"expected {width} values in feature order, got {len(value)}", "wrong_length")
            return None
        for j, raw in enumerate(value):
            out[j] = _number(raw, loc + (j,), problems)
    else:
        problems.add(
            loc,
            f"expected an object {{feature: value}} or an array of {width} values in feature order "
            f"(a {spec.kind} modality), got {_type_name(value)}",
            "vector_type",
        )
        return None
    if len(problems) > before:
        return None
    if np.isnan(out).all():
        problems.add(loc, "no measured value: leave the modality out to mark it absent", "empty")
        return None
    return out


_INDEX_CACHE: dict[tuple[str, ...], dict[str, int]] = {}


def _feature_index(spec: ModalitySpec) -> dict[str, int]:
    index = _INDEX_CACHE.get(spec.feature_names)
    if index is None:
        index = {f: j for j, f in enumerate(spec.feature_names)}
        if len(_INDEX_CACHE) < 256:
            _INDEX_CACHE[spec.feature_names] = index
    return index


# ---------------------------------------------------------------- time series
def _series(value: Any, spec: ModalitySpec, problems: "_Problems") -> Series | None:
    loc: Loc = (spec.name,)
    if not isinstance(value, list):
        problems.add(
            loc,
            f'expected an array of observations [{{"{TIME_KEY}": t, "<channel>": value}}, ...] '
            f"(a time series), got {_type_name(value)}",
            "series_type",
        )
        return None
    index = _feature_index(spec)
    times: list[float] = []
    rows: list[np.ndarray] = []
    before = len(problems)
    for i, obs in enumerate(value):
        where = loc + (i,)
        if not isinstance(obs, Mapping):
            problems.add(
                where,
                f'expected an observation object {{"{TIME_KEY}": t, "<channel>": value}}, got {_type_name(obs)}',
                "observation_type",
            )
            continue
        row = np.full(spec.n_features, np.nan, dtype=np.float32)
        for key, raw in obs.items():
            if key == TIME_KEY:
                continue
            j = index.get(key)
            if j is None:
                problems.add(
                    where + (key,),
                    lambda: _unknown("channel", key, spec.feature_names, f"'{spec.name}' has channels"),
                    "unknown_channel",
                )
                continue
            row[j] = _number(raw, where + (key,), problems)
        if TIME_KEY not in obs or obs[TIME_KEY] is None:
            problems.add(
                where + (TIME_KEY,),
                f"every observation needs a '{TIME_KEY}' (in {spec.time_unit or 'the training time unit'})",
                "missing_time",
            )
            continue
        t = _number(obs[TIME_KEY], where + (TIME_KEY,), problems)
        if not np.isnan(row).all():  # an observation without any channel value carries nothing
            times.append(t)
            rows.append(row)
    if len(problems) > before:
        return None
    if not rows:
        problems.add(loc, "no measured value: leave the modality out to mark it absent", "empty")
        return None
    order = np.argsort(np.asarray(times, dtype=np.float64), kind="stable")
    return Series(np.asarray(times, dtype=np.float32)[order], np.stack(rows)[order])


# ---------------------------------------------------------------- values
def _number(raw: Any, loc: Loc, problems: "_Problems") -> float:
    """``raw`` as a float (NaN for null = not measured); a problem is recorded otherwise."""
    if raw is None:
        return math.nan
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        problems.add(loc, f"expected a number or null, got {_type_name(raw)}", "number_type")
        return math.nan
    try:
        value = float(raw)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value) or abs(value) > FLOAT32_MAX:
        problems.add(
            loc,
            "not a finite number (NaN and infinities are refused; use null or leave the "
            "field out when it was not measured)",
            "finite_number",
        )
        return math.nan
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"a string ({value[:20]!r})" if len(value) <= 20 else "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


def _unknown(what: str, name: Any, valid: Sequence[str], lead: str) -> str:
    close = [v for v in valid if v.lower() == str(name).lower()]
    if not close and len(valid) <= HINT_LIMIT:  # difflib is quadratic-ish: bounded work per request
        lowered = {v.lower(): v for v in valid}
        close = [lowered[c] for c in difflib.get_close_matches(str(name).lower(), list(lowered), n=1, cutoff=0.75)]
    hint = f"; did you mean '{close[0]}'?" if close else ""
    shown = ", ".join(list(valid)[:5]) + (", ..." if len(valid) > 5 else "")
    return f"unknown {what} ({lead} {shown}){hint}"


class _Problems:
    """Collects problems, up to :data:`MAX_PROBLEMS`."""

    def __init__(self) -> None:
        self.items: list[FieldProblem] = []
        self.dropped = 0

    def __len__(self) -> int:
        return len(self.items) + self.dropped

    def add(self, loc: Loc, msg: str | Callable[[], str], kind: str) -> None:
        """Record a problem; a callable message is only built for problems that are kept."""
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(FieldProblem(tuple(loc), msg() if callable(msg) else msg, kind))
        else:
            self.dropped += 1

    def raise_if_any(self) -> None:
        if self.items:
            items = list(self.items)
            if self.dropped:
                items.append(FieldProblem((), f"{self.dropped} further problems not shown", "truncated"))
            raise InputError(items)
