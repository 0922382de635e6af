"""Labels of a dataset: task type, class names and targets.

Classification tasks (binary, multiclass, multilabel) hold class indices or indicators.
A survival task holds a censored time-to-event outcome per sample: ``y`` is a structured
array with the fields ``event`` (bool, True = observed) and ``time`` (float64), the layout
scikit-survival's estimators and metrics take directly, and ``class_names`` is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from omnifuse.errors import DataError
from omnifuse.tasks import TASK_NAMES

#: Targets of a survival task: event indicator (True = observed, False = censored) and time.
SURVIVAL_DTYPE = np.dtype([("event", "?"), ("time", "<f8")])

#: Separator of several labels of one sample in a label column (multilabel tasks).
MULTILABEL_SEPARATOR = "|"


@dataclass
class Labels:
    """Targets of a dataset.

    Attributes:
        task: "binary", "multiclass", "multilabel" or "survival".
        y: int64 ``(n,)`` class indices (binary, multiclass), uint8 ``(n, n_classes)``
            indicators (multilabel), or a :data:`SURVIVAL_DTYPE` structured ``(n,)`` array
            (survival; build it with :meth:`Labels.survival`).
        class_names: name of each class; for binary tasks index 1 is the positive class.
            Empty for survival.
        time_unit: unit of the survival times ("days", "months", ...); None otherwise.
    """

    task: str
    y: np.ndarray
    class_names: tuple[str, ...] = ()
    time_unit: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise DataError(f"unknown task '{self.task}' (valid: {', '.join(TASK_NAMES)})")
        if self.task == "survival":
            self._check_survival()
            return
        if self.time_unit is not None:
            raise DataError(f"a time unit only applies to survival labels, not to a {self.task} task")
        self.class_names = tuple(str(c) for c in self.class_names)
        n_classes = len(self.class_names)
        if self.task == "multilabel":
            if self.y.ndim != 2 or self.y.shape[1] != n_classes:
                raise DataError("multilabel targets must be (n_samples, n_classes) indicators")
        else:
            if self.y.ndim != 1:
                raise DataError(f"{self.task} targets must be one class index per sample")
            if len(self.y) and (self.y.min() < 0 or self.y.max() >= n_classes):
                raise DataError(f"class index out of range for classes {self.class_names}")
        if self.task == "binary" and n_classes != 2:
            raise DataError(f"a binary task needs 2 classes, got {n_classes}")

    def _check_survival(self) -> None:
        names = self.y.dtype.names or ()
        if self.y.ndim != 1 or "event" not in names or "time" not in names:
            raise DataError(
                "survival targets must be one (event, time) record per sample; "
                "build them with Labels.survival(time, event, time_unit)"
            )
        if self.class_names:
            raise DataError(f"survival labels have no classes, got {tuple(self.class_names)}")
        if not isinstance(self.time_unit, str) or not self.time_unit.strip():
            raise DataError("survival labels need a time unit (e.g. 'days')")
        time = np.asarray(self.y["time"], dtype=np.float64)
        bad = ~np.isfinite(time) | (time < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(f"survival time of sample {i} is {time[i]}; times must be finite and >= 0")
        event = _check_events(np.asarray(self.y["event"]))
        y = np.empty(len(time), dtype=SURVIVAL_DTYPE)
        y["event"], y["time"] = event, time
        self.y, self.class_names, self.time_unit = y, (), self.time_unit.strip()

    @classmethod
    def survival(
        cls, time: Sequence[float] | np.ndarray, event: Sequence[object] | np.ndarray, time_unit: str
    ) -> "Labels":
        """Survival labels from per-sample times and events (1/True = observed, 0/False = censored)."""
        time_arr = np.asarray(time, dtype=np.float64).reshape(-1)
        event_arr = np.asarray(event).reshape(-1)
        if time_arr.shape != event_arr.shape:
            raise DataError(f"{len(time_arr)} survival times for {len(event_arr)} events")
        y = np.empty(len(time_arr), dtype=SURVIVAL_DTYPE)
        y["time"], y["event"] = time_arr, _check_events(event_arr)
        return cls("survival", y, (), time_unit)

    @classmethod
    def from_dict(cls, meta: dict, y: np.ndarray) -> "Labels":
        """The labels described by ``meta`` (a :meth:`to_dict` result) with targets ``y``."""
        return cls(meta["task"], y, tuple(meta.get("class_names", ())), meta.get("time_unit"))

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def is_survival(self) -> bool:
        return self.task == "survival"

    @property
    def time(self) -> np.ndarray:
        """float64 ``(n,)`` event or censoring times (survival only)."""
        return np.ascontiguousarray(self._survival_field("time"))

    @property
    def event(self) -> np.ndarray:
        """bool ``(n,)``: True where the event was observed, False where censored (survival only)."""
        return np.ascontiguousarray(self._survival_field("event"))

    def _survival_field(self, name: str) -> np.ndarray:
        if self.task != "survival":
            raise DataError(f"a {self.task} task has no survival {name}s")
        return self.y[name]

    def take(self, idx: np.ndarray) -> "Labels":
        if self.task == "survival":
            return Labels(self.task, self.y[idx], (), self.time_unit)
        return Labels(self.task, self.y[idx], self.class_names)

    def counts(self) -> dict[str, int]:
        """Number of samples per class (per label, for multilabel tasks; events and censored
        samples for survival)."""
        if self.task == "survival":
            n_events = int(self.y["event"].sum())
            return {"events": n_events, "censored": len(self) - n_events}
        if self.task == "multilabel":
            totals = self.y.sum(axis=0)
        else:
            totals = np.bincount(self.y, minlength=self.n_classes)
        return {name: int(t) for name, t in zip(self.class_names, totals)}

    def stratification_key(self) -> np.ndarray:
        """One integer per sample to stratify splits on (label powerset for multilabel, the
        event indicator for survival)."""
        if self.task == "survival":
            return self.y["event"].astype(np.int64)
        if self.task != "multilabel":
            return self.y
        _, key = np.unique(self.y, axis=0, return_inverse=True)
        return key.reshape(-1)

    def to_dict(self) -> dict:
        if self.task == "survival":
            return {"task": self.task, "class_names": [], "time_unit": self.time_unit}
        return {"task": self.task, "class_names": list(self.class_names)}


def _check_events(event: np.ndarray) -> np.ndarray:
    """``event`` as bool; anything but 0/1 (or bool) is an error naming the first bad sample."""
    if event.dtype != bool and len(event):
        valid = np.isin(event, (0, 1))
        if not valid.all():
            i = int(np.flatnonzero(~valid)[0])
            value = event[i].item() if isinstance(event[i], np.generic) else event[i]
            raise DataError(f"event of sample {i} is {value!r}; events must be 0 (censored) or 1 (observed)")
    return event.astype(bool)


def labels_from_values(values: Sequence[object], source: str = "labels") -> Labels:
    """Infer task and classes from raw label values.

    Values containing ``|`` make a multilabel task ("a|b"); otherwise two distinct values
    make a binary task and more a multiclass one. Classes are sorted (numerically when all
    values are numbers), so 0/1 labels keep 1 as the positive class.
    """
    raw = [("" if v is None else str(v)).strip() for v in values]
    for i, v in enumerate(raw):
        if v == "" or v.lower() == "nan":
            raise DataError(f"{source}: row {i + 1} has an empty label")
    if any(MULTILABEL_SEPARATOR in v for v in raw):
        sets = [[p.strip() for p in v.split(MULTILABEL_SEPARATOR) if p.strip()] for v in raw]
        classes = _sorted_classes({c for s in sets for c in s})
        index = {c: k for k, c in enumerate(classes)}
        y = np.zeros((len(raw), len(classes)), dtype=np.uint8)
        for i, s in enumerate(sets):
            y[i, [index[c] for c in s]] = 1
        return Labels("multilabel", y, tuple(classes))
    classes = _sorted_classes(set(raw))
    if len(classes) < 2:
        raise DataError(
            f"{source}: the label column has a single class '{classes[0]}'; a classifier needs at least two"
        )
    index = {c: k for k, c in enumerate(classes)}
    y = np.fromiter((index[v] for v in raw), dtype=np.int64, count=len(raw))
    return Labels("binary" if len(classes) == 2 else "multiclass", y, tuple(classes))


def survival_from_values(
    times: Sequence[object],
    events: Sequence[object],
    time_unit: str,
    source: str = "labels",
    rows: Sequence[int] | None = None,
    ids: Sequence[str] | None = None,
    columns: tuple[str, str] = ("time", "event"),
) -> Labels:
    """Parse raw time and event values (e.g. two CSV columns) into survival labels.

    Times must be numbers >= 0; events 1 (observed) or 0 (censored), also written
    ``true``/``false`` or ``1.0``/``0.0``. At least one event must be observed. Each problem is
    a one-line :class:`DataError` naming ``source``, the row (``rows[i]``, default ``i + 1``),
    the sample (``ids[i]``) and the column.
    """
    time_column, event_column = columns
    n = len(times)
    if len(events) != n:
        raise DataError(f"{source}: {n} times for {len(events)} events")

    def where(i: int) -> str:
        row = rows[i] if rows is not None else i + 1
        return f"{source}: row {row}" + (f" (sample '{ids[i]}')" if ids is not None else "")

    time = np.empty(n, dtype=np.float64)
    event = np.empty(n, dtype=bool)
    for i, (t, e) in enumerate(zip(times, events)):
        time[i] = _survival_time(t, lambda: where(i), time_column)
        event[i] = _survival_event(e, lambda: where(i), event_column)
    if n and not event.any():
        raise DataError(
            f"{source}: no observed event in column '{event_column}' (all {n} samples are "
            "censored); survival analysis needs at least one event (1)"
        )
    return Labels.survival(time, event, time_unit)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() in ("", "nan", "NaN")


def _survival_time(value: object, where: Callable[[], str], column: str) -> float:
    if _missing(value):
        raise DataError(f"{where()} has no time in column '{column}'")
    try:
        t = float(str(value).strip()) if not isinstance(value, (int, float, np.number)) else float(value)
    except ValueError:
        raise DataError(f"{where()}, column '{column}': time {str(value).strip()!r} is not a number") from None
    if not np.isfinite(t):
        raise DataError(f"{where()}, column '{column}': time {t} is not finite")
    if t < 0:
        raise DataError(f"{where()}, column '{column}': negative time {t:g}")
    return t


_EVENT_VALUES = {"1": True, "1.0": True, "true": True, "0": False, "0.0": False, "false": False}


def _survival_event(value: object, where: Callable[[], str], column: str) -> bool:
    if _missing(value):
        raise DataError(f"{where()} has no event in column '{column}'")
    text = str(value).strip().lower()
    if text not in _EVENT_VALUES:
        raise DataError(
            f"{where()}, column '{column}': event {str(value).strip()!r} must be 1 (observed) or 0 (censored)"
        )
    return _EVENT_VALUES[text]


def _sorted_classes(classes: set[str]) -> list[str]:
    try:
        return sorted(classes, key=float)
    except ValueError:
        return sorted(classes)
