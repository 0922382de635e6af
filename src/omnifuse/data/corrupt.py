"""Corruptions of a :class:`MultimodalDataset`, shared by training and evaluation.

Each corruption is a small frozen dataclass called as ``corruption(ds, rng)``; it returns a
*new* dataset (``ds.replace``) and never modifies the input's arrays. Dropped modalities are
blanked with :func:`arrays.blank_rows` so nothing of them can leak. Every applied corruption
is recorded in ``info["corruptions"]`` as its CLI spec.

CLI specs read by :func:`parse_corruption` are ``TARGET=KIND[:LEVEL]``::

    mrna=gaussian:0.5    vitals=segment:0.3    vitals=flatline:0.2    any=drop:0.5
    protein=drop:1.0     omics=dropout:0.1     ehr+notes=only

``any`` targets every (applicable) modality; ``only`` keeps just the ``+``-joined modalities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable

import numpy as np

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData, blank_rows
from omnifuse.data.dataset import PATTERN_SEPARATOR, MultimodalDataset
from omnifuse.data.spec import SEQUENCE_KINDS
from omnifuse.errors import ConfigError, DataError

#: A corruption: ``(dataset, rng) -> new dataset``.
Corruption = Callable[[MultimodalDataset, np.random.Generator], MultimodalDataset]

ANY = "any"
#: CLI kinds and their level (name, valid range) -- None for kinds without a level.
CORRUPTION_KINDS: dict[str, tuple[str, str] | None] = {
    "drop": ("rate", "[0, 1]"),
    "dropout": ("rate", "[0, 1]"),
    "gaussian": ("level", ">= 0"),
    "segment": ("fraction", "[0, 1]"),
    "flatline": ("fraction", "[0, 1]"),
    "only": None,
}
_VALID = (
    "drop:RATE in [0, 1], dropout:RATE in [0, 1], gaussian:LEVEL >= 0, "
    "segment:FRACTION in [0, 1], flatline:FRACTION in [0, 1], only (TARGET 'a+b', no level)"
)


def _check_unit(value: float, what: str, owner: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise ConfigError(f"{owner}: {what} must be in [0, 1], got {value}")
    return value


def _fmt(target: str | None) -> str:
    return ANY if target is None else target


@dataclass(frozen=True)
class DropModality:
    """Make ``modality`` absent for a random share ``rate`` of the samples that have it.

    ``modality=None`` ("any") drops each present modality of each sample independently with
    probability ``rate``. With ``keep_one`` no sample is left without a modality: for a named
    modality, samples where it is the only one are never chosen (the share is of the others);
    for "any", an emptied sample gets one of its dropped modalities back at random.
    """

    modality: str | None = None
    rate: float = 0.5
    keep_one: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _check_unit(self.rate, "rate", "drop"))

    @property
    def spec(self) -> str:
        return f"{_fmt(self.modality)}=drop:{self.rate!r}"

    def __call__(self, ds: MultimodalDataset, rng: np.random.Generator) -> MultimodalDataset:
        mask = ds.mask
        drop = np.zeros_like(mask)
        if self.modality is None:
            drop = mask & (rng.random(mask.shape) < self.rate)
        else:
            j = ds.modality_index(self.modality)
            eligible = mask[:, j] & ((mask.sum(axis=1) > 1) if self.keep_one else True)
            idx = np.flatnonzero(eligible)
            chosen = rng.choice(idx, size=int(round(self.rate * len(idx))), replace=False)
            drop[chosen, j] = True
        new = mask & ~drop
        if self.keep_one:
            emptied = np.flatnonzero(~new.any(axis=1) & mask.any(axis=1))
            if len(emptied):
                keys = rng.random((len(emptied), mask.shape[1])) * drop[emptied]
                back = keys.argmax(axis=1)
                new[emptied, back] = True
                drop[emptied, back] = False
        return _rebuild(ds, new, drop, self.spec)


@dataclass(frozen=True)
class DropPattern:
    """Keep only the modalities in ``present`` (evaluate one availability pattern).

    Each sample keeps the intersection of its modalities with ``present``; the number of
    samples left with no modality is reported in ``info["emptied_samples"]``.
    """

    present: tuple[str, ...]

    def __post_init__(self) -> None:
        names = (self.present,) if isinstance(self.present, str) else self.present
        present = tuple(sorted(set(names)))
        if not present:
            raise ConfigError("only: present must name at least one modality")
        object.__setattr__(self, "present", present)

    @property
    def spec(self) -> str:
        return f"{PATTERN_SEPARATOR.join(self.present)}=only"

    def __call__(self, ds: MultimodalDataset, rng: np.random.Generator) -> MultimodalDataset:
        for name in self.present:
            ds.modality_index(name)  # validates
        keep = np.isin(np.array(ds.modalities), self.present)
        new = ds.mask & keep[None, :]
        out = _rebuild(ds, new, ds.mask & ~new, self.spec)
        out.info["emptied_samples"] = int((~new.any(axis=1)).sum())
        return out


@dataclass(frozen=True)
class GaussianNoise:
    """Add ``N(0, (level * std)^2)`` to observed values of present rows.

    ``std`` is per feature (vectors) or per channel (time series and dense arrays with a
    time axis), computed over observed values of present rows. ``None`` = every numeric
    modality.
    """

    modality: str | None
    level: float

    def __post_init__(self) -> None:
        level = float(self.level)
        if not (level >= 0.0 and np.isfinite(level)):
            raise ConfigError(f"gaussian: level must be finite and >= 0, got {level}")
        object.__setattr__(self, "level", level)

    @property
    def spec(self) -> str:
        return f"{_fmt(self.modality)}=gaussian:{self.level!r}"

    def __call__(self, ds: MultimodalDataset, rng: np.random.Generator) -> MultimodalDataset:
        changes = {}
        for name in _targets(ds, self.modality, "gaussian"):
            values, present = _values(ds, name), ds.availability(name)
            sub = values[present]
            axes = (0, 1) if _has_time_axis(ds, name) else (0,)
            std = _nan_std(sub, axes)
            sub = sub + (rng.standard_normal(sub.shape) * (self.level * std)).astype(sub.dtype)
            changes[name] = _set_rows(ds.data[name], values, present, sub)
        return _rebuild(ds, ds.mask, None, self.spec, changes)


@dataclass(frozen=True)
class FeatureDropout:
    """Make each observed value of present rows unobserved (NaN) with probability ``rate``."""

    modality: str | None
    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", _check_unit(self.rate, "rate", "dropout"))

    @property
    def spec(self) -> str:
        return f"{_fmt(self.modality)}=dropout:{self.rate!r}"

    def __call__(self, ds: MultimodalDataset, rng: np.random.Generator) -> MultimodalDataset:
        changes = {}
        for name in _targets(ds, self.modality, "dropout"):
            values, present = _values(ds, name), ds.availability(name)
            sub = values[present]
            sub[~np.isnan(sub) & (rng.random(sub.shape) < self.rate)] = np.nan
            changes[name] = _set_rows(ds.data[name], values, present, sub)
        return _rebuild(ds, ds.mask, None, self.spec, changes)


@dataclass(frozen=True)
class SegmentMask:
    """Corrupt a contiguous random segment covering ``fraction`` of each sample's real steps.

    ``mode="mask"`` makes the segment unobserved (NaN); ``mode="flatline"`` keeps observed
    entries observed but holding a constant per channel: the last observed value before the
    segment, or 0 (electrode detachment). Needs a time axis: an :class:`IrregularSeries`
    or a dense array with ndim >= 3 (or a signal/time series kind), axis 1 = time.
    """

    modality: str | None
    fraction: float
    mode: str = "mask"

    def __post_init__(self) -> None:
        if self.mode not in ("mask", "flatline"):
            raise ConfigError(f"segment: mode must be 'mask' or 'flatline', got '{self.mode}'")
        kind = "segment" if self.mode == "mask" else "flatline"
        object.__setattr__(self, "fraction", _check_unit(self.fraction, "fraction", kind))

    @property
    def spec(self) -> str:
        kind = "segment" if self.mode == "mask" else "flatline"
        return f"{_fmt(self.modality)}={kind}:{self.fraction!r}"

    def __call__(self, ds: MultimodalDataset, rng: np.random.Generator) -> MultimodalDataset:
        changes = {}
        for name in _targets(ds, self.modality, "segment", need_time=True):
            data, values = ds.data[name], _values(ds, name)
            if isinstance(data, IrregularSeries):
                lengths = data.lengths
            else:  # real steps: up to the last step holding any observed value
                seen = ~np.isnan(values).reshape(len(values), values.shape[1], -1).all(axis=2)
                lengths = np.where(seen.any(axis=1), values.shape[1] - seen[:, ::-1].argmax(axis=1), 0)
            for i in np.flatnonzero(ds.availability(name)):
                length = int(lengths[i])
                seg = int(round(self.fraction * length))
                if seg == 0:
                    continue
                start = int(rng.integers(0, length - seg + 1))
                block = values[i, start : start + seg]
                if self.mode == "mask":
                    block[...] = np.nan
                else:
                    block[...] = np.where(np.isnan(block), np.nan, _last_observed(values[i, :start]))
            changes[name] = _set_rows(data, values, None, None)
        return _rebuild(ds, ds.mask, None, self.spec, changes)


def apply_corruptions(
    ds: MultimodalDataset,
    corruptions: Sequence[Corruption | str],
    seed: int | np.random.Generator | None = 0,
) -> MultimodalDataset:
    """Apply ``corruptions`` (objects or CLI specs) in order with one generator from ``seed``."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    for c in corruptions:
        ds = (parse_corruption(c) if isinstance(c, str) else c)(ds, rng)
    return ds


def parse_corruption(text: str) -> Corruption:
    """Parse a CLI spec ``TARGET=KIND[:LEVEL]`` (see the module docstring)."""
    raw = str(text).strip()
    target, eq, rest = raw.partition("=")
    target, rest = target.strip(), rest.strip()
    kind, colon, level_text = rest.partition(":")
    kind = kind.strip().lower()
    if not eq or not target or not kind:
        raise ConfigError(f"corruption '{raw}': expected TARGET=KIND[:LEVEL] (kinds: {_VALID})")
    if kind not in CORRUPTION_KINDS:
        raise ConfigError(f"corruption '{raw}': unknown kind '{kind}' (valid: {_VALID})")
    if CORRUPTION_KINDS[kind] is None:
        if colon or target == ANY:
            raise ConfigError(f"corruption '{raw}': '{kind}' takes modality names 'a+b' and no level")
        return DropPattern(tuple(t.strip() for t in target.split(PATTERN_SEPARATOR) if t.strip()))
    if not colon:
        raise ConfigError(f"corruption '{raw}': '{kind}' needs a level (valid: {_VALID})")
    try:
        level = float(level_text)
    except ValueError:
        raise ConfigError(f"corruption '{raw}': level '{level_text.strip()}' is not a number") from None
    modality = None if target == ANY else target
    build: dict[str, Callable[[], Corruption]] = {
        "drop": lambda: DropModality(modality, level),
        "dropout": lambda: FeatureDropout(modality, level),
        "gaussian": lambda: GaussianNoise(modality, level),
        "segment": lambda: SegmentMask(modality, level, "mask"),
        "flatline": lambda: SegmentMask(modality, level, "flatline"),
    }
    try:
        return build[kind]()
    except ConfigError as exc:
        raise ConfigError(f"corruption '{raw}': {exc} (valid: {_VALID})") from None


# ---------------------------------------------------------------------- helpers
def _targets(ds: MultimodalDataset, modality: str | None, kind: str, need_time: bool = False) -> list[str]:
    """Modalities a value-level corruption applies to (validated when named)."""
    if modality is not None:
        ds.modality_index(modality)  # DataError listing the dataset's modalities
        if not _is_numeric(ds.data[modality]):
            raise DataError(f"{kind}: modality '{modality}' holds no numeric array (files or texts)")
        if need_time and not _has_time_axis(ds, modality):
            raise DataError(f"{kind}: modality '{modality}' has no time axis (needs a time series or signal)")
        return [modality]
    return [m for m in ds.modalities if _is_numeric(ds.data[m]) and (not need_time or _has_time_axis(ds, m))]


def _is_numeric(data: ModalityData) -> bool:
    return isinstance(data, IrregularSeries) or (isinstance(data, np.ndarray) and data.dtype.kind == "f")


def _has_time_axis(ds: MultimodalDataset, name: str) -> bool:
    data = ds.data[name]
    if isinstance(data, IrregularSeries):
        return True
    if isinstance(data, LazyFiles):
        return False
    return data.ndim >= 3 or (data.ndim == 2 and ds.specs[name].kind in SEQUENCE_KINDS)


def _values(ds: MultimodalDataset, name: str) -> np.ndarray:
    """A private copy of a modality's numeric values."""
    data = ds.data[name]
    if isinstance(data, LazyFiles):
        raise DataError(f"modality '{name}' holds file paths, not numeric values")
    return (data.values if isinstance(data, IrregularSeries) else data).copy()


def _set_rows(data: ModalityData, values: np.ndarray, rows: np.ndarray | None, sub: np.ndarray | None) -> ModalityData:
    if rows is not None:
        values[rows] = sub
    if isinstance(data, IrregularSeries):
        return IrregularSeries(values, data.times, data.lengths)
    return values


def _nan_std(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Population std over ``axes`` ignoring NaN (0 where fewer than 2 values)."""
    obs = ~np.isnan(x)
    count = obs.sum(axis=axes, keepdims=True)
    mean = np.where(obs, x, 0.0).sum(axis=axes, keepdims=True) / np.maximum(count, 1)
    var = (np.where(obs, x - mean, 0.0) ** 2).sum(axis=axes, keepdims=True) / np.maximum(count, 1)
    return np.where(count >= 2, np.sqrt(var), 0.0)


def _last_observed(prefix: np.ndarray) -> np.ndarray:
    """Per channel, the last non-NaN value of ``prefix`` (steps x ...), or 0."""
    if len(prefix) == 0:
        return np.zeros(prefix.shape[1:], dtype=prefix.dtype)
    obs = ~np.isnan(prefix)
    last = len(prefix) - 1 - obs[::-1].argmax(axis=0)
    vals = np.take_along_axis(prefix, last[None], axis=0)[0]
    return np.where(obs.any(axis=0), vals, 0.0).astype(prefix.dtype)


def _rebuild(
    ds: MultimodalDataset,
    mask: np.ndarray,
    dropped: np.ndarray | None,
    spec: str,
    changes: dict[str, ModalityData] | None = None,
) -> MultimodalDataset:
    """A new dataset with ``mask``, ``dropped`` rows blanked and some modalities replaced."""
    data = dict(ds.data)
    data.update(changes or {})
    if dropped is not None:
        for j, name in enumerate(ds.modalities):
            if dropped[:, j].any():
                data[name] = blank_rows(data[name], dropped[:, j])
    info = dict(ds.info)
    info["corruptions"] = [*info.get("corruptions", []), spec]
    return ds.replace(data=data, mask=mask.copy(), info=info)


__all__ = [
    "ANY",
    "CORRUPTION_KINDS",
    "Corruption",
    "DropModality",
    "DropPattern",
    "FeatureDropout",
    "GaussianNoise",
    "SegmentMask",
    "apply_corruptions",
    "parse_corruption",
]
