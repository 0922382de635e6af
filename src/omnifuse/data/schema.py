"""What a trained model needs to know of its data: modality specs, task and class names.

A :class:`DatasetSchema` is the lightweight stand-in for a dataset that model builders
accept (they only read ``specs``, ``task``, ``class_names`` and ``modalities``); model
bundles store it, and :func:`check_compatible` tells a user, in one message, every way new
data differs from the data a model was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import DataError

if TYPE_CHECKING:
    from omnifuse.data.dataset import MultimodalDataset

#: How many feature names a difference lists before "...".
SHOWN = 3


@dataclass(frozen=True)
class DatasetSchema:
    """Modality specs, task and class names of a dataset, without data (and the time unit
    of a survival task, which has no class names).

    ``specs`` may be given as a mapping or a sequence; it is stored as a dict sorted by name.
    """

    specs: Mapping[str, ModalitySpec] = field(hash=False)
    task: str
    class_names: tuple[str, ...]
    time_unit: str | None = None  # survival tasks: unit of the event times

    def __post_init__(self) -> None:
        specs: Any = self.specs.values() if isinstance(self.specs, Mapping) else self.specs
        object.__setattr__(self, "specs", {s.name: s for s in sorted(specs, key=lambda s: s.name)})
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.specs)

    @classmethod
    def of(cls, dataset: "MultimodalDataset") -> "DatasetSchema":
        return cls(
            dict(dataset.specs),
            dataset.task,
            tuple(dataset.class_names),
            getattr(dataset.labels, "time_unit", None) if dataset.task == "survival" else None,
        )


def check_compatible(schema: DatasetSchema, dataset: "MultimodalDataset", source: str) -> None:
    """Raise one :class:`DataError` listing every difference between ``dataset`` and the
    ``schema`` of the run ``source`` (differences read "run value vs data value").

    Modalities must match by name and kind, features by name and order; sequence kinds
    (time series, signals) may have any number of time steps, only their channels and time
    unit matter. Class names (the time unit, for survival) are compared only when
    ``dataset`` carries labels.
    """
    problems: list[str] = []
    for name in schema.modalities:
        if name not in dataset.specs:
            problems.append(f"missing modality '{name}'")
        else:
            problems += spec_differences(schema.specs[name], dataset.specs[name])
    problems += [f"extra modality '{name}'" for name in dataset.modalities if name not in schema.specs]
    if _has_labels(dataset):
        if dataset.task != schema.task:
            problems.append(f"task {schema.task} vs {dataset.task}")
        elif tuple(dataset.class_names) != schema.class_names:
            problems.append(f"classes {list(schema.class_names)} vs {list(dataset.class_names)}")
        elif schema.task == "survival" and schema.time_unit and _time_unit(dataset) not in (None, schema.time_unit):
            problems.append(f"survival time unit {schema.time_unit} vs {_time_unit(dataset)}")
    if problems:
        raise DataError(f"data does not match run '{source}' (run vs data): " + "; ".join(problems))


def spec_differences(run: ModalitySpec, data: ModalitySpec) -> list[str]:
    """Differences of one modality, each prefixed with its name."""
    out: list[str] = []
    if run.kind != data.kind:
        out.append(f"kind {run.kind} vs {data.kind}")
    features = feature_differences(run.feature_names, data.feature_names)
    out += features
    if run.is_sequence and data.is_sequence:
        if run.time_unit != data.time_unit:
            out.append(f"time unit {run.time_unit} vs {data.time_unit}")
    elif not features and run.shape != data.shape:
        out.append(f"shape {run.shape} vs {data.shape}")
    return [f"{run.name}: {text}" for text in out]


def feature_differences(run: Sequence[str], data: Sequence[str]) -> list[str]:
    """Missing and unexpected feature names, or a different order of the same names."""
    if tuple(run) == tuple(data):
        return []
    missing = [f for f in run if f not in set(data)]
    extra = [f for f in data if f not in set(run)]
    out = []
    if missing:
        out.append(f"{len(missing)} missing feature{'s' if len(missing) > 1 else ''} (first: {_first(missing)})")
    if extra:
        out.append(f"{len(extra)} unexpected feature{'s' if len(extra) > 1 else ''} (first: {_first(extra)})")
    if not missing and not extra:
        pos = next((i for i, (a, b) in enumerate(zip(run, data)) if a != b), min(len(run), len(data)))
        where = f"position {pos}: {run[pos]} vs {data[pos]}" if pos < min(len(run), len(data)) else "their count"
        out.append(f"same features in a different order (first difference at {where})")
    return out


def _first(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (", ..." if len(names) > SHOWN else "")


def _has_labels(dataset: Any) -> bool:
    """Whether ``dataset`` carries labels to compare (a prediction-only dataset may not)."""
    labels = getattr(dataset, "labels", None)
    if labels is None:
        return False
    return len(getattr(labels, "class_names", ())) > 0 or getattr(labels, "task", None) == "survival"


def _time_unit(dataset: Any) -> str | None:
    return getattr(getattr(dataset, "labels", None), "time_unit", None)
