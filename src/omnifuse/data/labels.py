"""Labels of a dataset: task type, class names and targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnifuse.errors import DataError
from omnifuse.tasks import TASK_NAMES

#: Separator of several labels of one sample in a label column (multilabel tasks).
MULTILABEL_SEPARATOR = "|"


@dataclass
class Labels:
    """Targets of a dataset.

    Attributes:
        task: "binary", "multiclass" or "multilabel".
        y: int64 ``(n,)`` class indices (binary, multiclass) or uint8 ``(n, n_classes)``
            indicators (multilabel).
        class_names: name of each class; for binary tasks index 1 is the positive class.
    """

    task: str
    y: np.ndarray
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.task not in TASK_NAMES:
            raise DataError(f"unknown task '{self.task}' (valid: {', '.join(TASK_NAMES)})")
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

    def __len__(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def take(self, idx: np.ndarray) -> "Labels":
        return Labels(self.task, self.y[idx], self.class_names)

    def counts(self) -> dict[str, int]:
        """Number of samples per class (per label, for multilabel tasks)."""
        if self.task == "multilabel":
            totals = self.y.sum(axis=0)
        else:
            totals = np.bincount(self.y, minlength=self.n_classes)
        return {name: int(t) for name, t in zip(self.class_names, totals)}

    def stratification_key(self) -> np.ndarray:
        """One integer per sample to stratify splits on (label powerset for multilabel)."""
        if self.task != "multilabel":
            return self.y
        _, key = np.unique(self.y, axis=0, return_inverse=True)
        return key.reshape(-1)

    def to_dict(self) -> dict:
        return {"task": self.task, "class_names": list(self.class_names)}


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
            f"{source}: the label column has a single class '{classes[0]}'; "
            "a classifier needs at least two"
        )
    index = {c: k for k, c in enumerate(classes)}
    y = np.fromiter((index[v] for v in raw), dtype=np.int64, count=len(raw))
    return Labels("binary" if len(classes) == 2 else "multiclass", y, tuple(classes))


def _sorted_classes(classes: set[str]) -> list[str]:
    try:
        return sorted(classes, key=float)
    except ValueError:
        return sorted(classes)
