"""What a modality is: its name, its kind and the shape of one sample's data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from omnifuse.errors import DataError

ModalityKind = Literal["tabular", "omics", "timeseries", "image", "text", "signal", "embedding"]
MODALITY_KINDS: tuple[str, ...] = get_args(ModalityKind)

#: Kinds stored as one dense float vector per sample (features x).
VECTOR_KINDS = frozenset({"tabular", "omics", "embedding"})
#: Kinds stored as a sequence of observations (time x channels).
SEQUENCE_KINDS = frozenset({"timeseries", "signal"})


@dataclass(frozen=True)
class ModalitySpec:
    """Description of one modality.

    Attributes:
        name: key of the modality everywhere (batches, masks, configs).
        kind: one of :data:`MODALITY_KINDS`.
        feature_names: names of the features of a vector modality, or of the channels of a
            time series / signal.
        shape: shape of one sample's data without the batch axis, e.g. ``(n_features,)``,
            ``(max_steps, n_channels)`` or ``(3, 224, 224)``.
        time_unit: unit of the time stamps of a time series or signal ("hours", "seconds").
        extra: free metadata a loader wants to keep (units, sampling rate, ...).
    """

    name: str
    kind: str
    feature_names: tuple[str, ...] = ()
    shape: tuple[int, ...] = ()
    time_unit: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise DataError(f"modality name must be a non-empty string, got {self.name!r}")
        if self.kind not in MODALITY_KINDS:
            raise DataError(f"modality '{self.name}': unknown kind '{self.kind}' (valid: {', '.join(MODALITY_KINDS)})")
        object.__setattr__(self, "feature_names", tuple(str(f) for f in self.feature_names))
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names of a time series or signal (same as ``feature_names``)."""
        return self.feature_names if self.kind in SEQUENCE_KINDS else ()

    @property
    def n_features(self) -> int:
        """Number of features (vector kinds) or channels (sequence kinds)."""
        if self.feature_names:
            return len(self.feature_names)
        return self.shape[-1] if self.shape else 0

    @property
    def is_sequence(self) -> bool:
        return self.kind in SEQUENCE_KINDS

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (used by caches and model bundles)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "feature_names": list(self.feature_names),
            "shape": list(self.shape),
            "time_unit": self.time_unit,
            "extra": self.extra,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModalitySpec":
        return cls(
            name=d["name"],
            kind=d["kind"],
            feature_names=tuple(d.get("feature_names", ())),
            shape=tuple(d.get("shape", ())),
            time_unit=d.get("time_unit"),
            extra=dict(d.get("extra", {})),
        )
