"""`MultimodalDataset`: samples, labels, per-modality data and the availability mask."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData, n_rows, take
from omnifuse.data.labels import Labels
from omnifuse.data.schema import DatasetSchema
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import DataError

PATTERN_SEPARATOR = "+"
NO_MODALITY = "(none)"


class MultimodalDataset:
    """A cohort: one row per sample, any number of modalities, absence explicit.

    Modalities are always kept in sorted name order; column ``j`` of :attr:`mask` is
    modality ``self.modalities[j]``. ``mask[i, j]`` is False when sample ``i`` has no data
    for that modality: absent is a state of its own, never a row of zeros.

    Args:
        specs: the modality specs (any iterable; re-ordered by name).
        data: per-modality containers, each with one row per sample.
        mask: availability, ``(n_samples, n_modalities)`` bool in sorted modality order, or
            a mapping modality -> bool vector.
        labels: the targets.
        sample_ids: unique id of each sample.
        groups: the patient of each sample when a patient has several samples (splits never
            put one group on both sides); defaults to the sample id.
        splits: optional split name of each sample (e.g. "train"/"test" or "a"/"b").
        info: free provenance metadata (source, quality flags, ...).
    """

    def __init__(
        self,
        specs: Sequence[ModalitySpec] | Mapping[str, ModalitySpec],
        data: Mapping[str, ModalityData],
        mask: np.ndarray | Mapping[str, np.ndarray],
        labels: Labels,
        sample_ids: Sequence[str] | np.ndarray,
        groups: Sequence[str] | np.ndarray | None = None,
        splits: Sequence[str] | np.ndarray | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        spec_list = list(specs.values()) if isinstance(specs, Mapping) else list(specs)
        if not spec_list:
            raise DataError("a dataset needs at least one modality")
        self.specs: dict[str, ModalitySpec] = {s.name: s for s in sorted(spec_list, key=lambda s: s.name)}
        if len(self.specs) != len(spec_list):
            raise DataError("modality names must be unique")
        self.sample_ids = np.asarray(sample_ids).astype(str)
        n = len(self.sample_ids)
        self.data: dict[str, ModalityData] = {}
        for name in self.specs:
            if name not in data:
                raise DataError(f"modality '{name}' has a spec but no data")
            if n_rows(data[name]) != n:
                raise DataError(f"modality '{name}' has {n_rows(data[name])} rows for {n} samples")
            self.data[name] = data[name]
        if isinstance(mask, Mapping):
            mask = np.stack([np.asarray(mask[m], dtype=bool) for m in self.specs], axis=1)
        self.mask = np.asarray(mask, dtype=bool).reshape(n, len(self.specs))
        if len(labels) != n:
            raise DataError(f"{len(labels)} labels for {n} samples")
        self.labels = labels
        duplicated = _first_duplicate(self.sample_ids)
        if duplicated is not None:
            raise DataError(f"duplicate sample id '{duplicated}'")
        self.groups = self.sample_ids.copy() if groups is None else np.asarray(groups).astype(str)
        self.splits = None if splits is None else np.asarray(splits).astype(str)
        for what, arr in (("groups", self.groups), ("splits", self.splits)):
            if arr is not None and arr.shape != (n,):
                raise DataError(f"{what} must have one entry per sample")
        self.info: dict[str, Any] = dict(info or {})

    # ------------------------------------------------------------------ basic views
    def __len__(self) -> int:
        return len(self.sample_ids)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(self.specs)

    @property
    def n_modalities(self) -> int:
        return len(self.specs)

    @property
    def task(self) -> str:
        return self.labels.task

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.labels.class_names

    @property
    def y(self) -> np.ndarray:
        return self.labels.y

    @property
    def schema(self) -> "DatasetSchema":
        """Modality specs, task and class names without the data (what a model is built from)."""
        return DatasetSchema.of(self)

    def availability(self, modality: str) -> np.ndarray:
        """Boolean vector: which samples have ``modality``."""
        return self.mask[:, self.modality_index(modality)]

    def modality_index(self, modality: str) -> int:
        try:
            return self.modalities.index(modality)
        except ValueError:
            raise DataError(f"unknown modality '{modality}' (dataset has: {', '.join(self.modalities)})") from None

    def __repr__(self) -> str:
        mods = ", ".join(f"{m}[{self.specs[m].kind}]" for m in self.modalities)
        return f"MultimodalDataset(n={len(self)}, task={self.task}, modalities=({mods}))"

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> Any:
        """An int gives one sample as a dict; a slice, index array or bool mask a subset."""
        if isinstance(key, (int, np.integer)):
            return self.sample(int(key))
        return self.subset(key)

    def sample(self, i: int) -> dict[str, Any]:
        """Sample ``i``: ``{"sample_id", "inputs": {modality: data or None}, "mask", "y"}``.

        An absent modality is ``None`` in ``inputs``, never a placeholder value.
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample index {i} out of range for {len(self)} samples")
        i = i % len(self)
        inputs: dict[str, Any] = {}
        for j, name in enumerate(self.modalities):
            if not self.mask[i, j]:
                inputs[name] = None
                continue
            data = self.data[name]
            if isinstance(data, LazyFiles):
                inputs[name] = data.load(i)
            elif isinstance(data, IrregularSeries):
                inputs[name] = data.take(np.array([i]))
            else:
                inputs[name] = data[i]
        return {
            "sample_id": str(self.sample_ids[i]),
            "index": i,
            "inputs": inputs,
            "mask": self.mask[i].copy(),
            "y": self.labels.y[i],
        }

    def subset(self, index: slice | Sequence[int] | np.ndarray) -> "MultimodalDataset":
        """A new dataset with the samples selected by ``index`` (int array, bool mask or slice)."""
        idx = np.arange(len(self))[index] if isinstance(index, slice) else np.asarray(index)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64)
        return MultimodalDataset(
            specs=self.specs,
            data={m: take(d, idx) for m, d in self.data.items()},
            mask=self.mask[idx],
            labels=self.labels.take(idx),
            sample_ids=self.sample_ids[idx],
            groups=self.groups[idx],
            splits=None if self.splits is None else self.splits[idx],
            info=self.info,
        )

    def select_modalities(self, names: Sequence[str]) -> "MultimodalDataset":
        """A dataset with only the modalities ``names`` (samples keep their rows)."""
        chosen = sorted(set(names))
        columns = [self.modality_index(n) for n in chosen]  # also validates the names
        return self.replace(
            specs={n: self.specs[n] for n in chosen},
            data={n: self.data[n] for n in chosen},
            mask=self.mask[:, columns],
        )

    def replace(self, **changes: Any) -> "MultimodalDataset":
        """A shallow copy with some constructor arguments replaced (data is shared)."""
        args: dict[str, Any] = dict(
            specs=self.specs,
            data=self.data,
            mask=self.mask,
            labels=self.labels,
            sample_ids=self.sample_ids,
            groups=self.groups,
            splits=self.splits,
            info=self.info,
        )
        args.update(changes)
        return MultimodalDataset(**args)

    # ------------------------------------------------------------------ splits
    def split_names(self) -> tuple[str, ...]:
        return () if self.splits is None else tuple(sorted(set(self.splits.tolist())))

    def split_indices(self, names: str | Sequence[str]) -> np.ndarray:
        """Indices of the samples whose split is one of ``names`` ("a,b" is accepted)."""
        wanted = [s.strip() for s in names.split(",")] if isinstance(names, str) else list(names)
        if self.splits is None:
            raise DataError("this dataset has no split column; use k-fold or a random split")
        unknown = [s for s in wanted if s not in self.split_names()]
        if unknown:
            raise DataError(
                f"unknown split {', '.join(map(repr, unknown))} (dataset has: {', '.join(self.split_names())})"
            )
        return np.flatnonzero(np.isin(self.splits, wanted))

    # ------------------------------------------------------------------ summaries
    def pattern_names(self) -> np.ndarray:
        """Per sample, its availability pattern as 'modA+modB' (sorted names)."""
        mods = np.array(self.modalities)
        return np.array([PATTERN_SEPARATOR.join(mods[row]) or NO_MODALITY for row in self.mask], dtype=object)

    def pattern_counts(self) -> dict[str, int]:
        """Number of samples per availability pattern, most frequent first."""
        return dict(Counter(self.pattern_names().tolist()).most_common())

    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description of the cohort."""
        modalities = {}
        for j, name in enumerate(self.modalities):
            spec = self.specs[name]
            entry: dict[str, Any] = {
                "kind": spec.kind,
                "n_features": spec.n_features,
                "n_present": int(self.mask[:, j].sum()),
                "n_absent": int((~self.mask[:, j]).sum()),
            }
            if spec.time_unit:
                entry["time_unit"] = spec.time_unit
            data = self.data[name]
            if isinstance(data, IrregularSeries) and self.mask[:, j].any():
                present = self.mask[:, j]
                entry["max_steps"] = int(data.values.shape[1])
                entry["median_steps"] = float(np.median(data.lengths[present]))
                entry["observed_fraction"] = round(
                    float(data.observed[present].sum() / max(1, data.step_mask[present].sum() * spec.n_features)), 4
                )
            modalities[name] = entry
        splits = {}
        if self.splits is not None:
            splits = {s: int(c) for s, c in sorted(Counter(self.splits.tolist()).items())}
        out = {
            "n_samples": len(self),
            "n_groups": int(len(np.unique(self.groups))),
            "task": self.task,
            "modalities": modalities,
            "labels": self.labels.counts(),
            "splits": splits,
            "patterns": self.pattern_counts(),
            "info": {k: v for k, v in self.info.items() if _is_jsonable(v)},
        }
        if self.task == "survival":
            out["survival"] = survival_summary(self.labels)
        return out


#: Quantiles of the follow-up times at which the summary reports Kaplan-Meier survival.
SUMMARY_QUANTILES = (0.25, 0.5, 0.75)


def survival_summary(labels: Labels) -> dict[str, Any]:
    """Events, censoring, median follow-up (reverse Kaplan-Meier) and a Kaplan-Meier summary.

    ``median_survival`` and ``median_follow_up`` are None when the curve never falls to 0.5
    ("not reached"); ``kaplan_meier`` gives the survival probability at the 25/50/75%
    quantiles of the follow-up times.
    """
    # deferred: scikit-survival (seconds: it imports scikit-learn, pandas) is needed only by survival tasks
    from sksurv.nonparametric import kaplan_meier_estimator

    time, event = labels.time, labels.event
    n, n_events = len(time), int(event.sum())
    out: dict[str, Any] = {
        "time_unit": labels.time_unit,
        "n_events": n_events,
        "n_censored": n - n_events,
        "censored_share": round((n - n_events) / n, 4) if n else None,
        "median_follow_up": None,
        "median_survival": None,
        "max_time": float(time.max()) if n else None,
        "kaplan_meier": [],
    }
    if n == 0:
        return out
    if n_events < n:
        at, censoring = kaplan_meier_estimator(event, time, reverse=True)
        out["median_follow_up"] = _median_time(at, censoring)
    if n_events:
        at, prob = kaplan_meier_estimator(event, time)
        out["median_survival"] = _median_time(at, prob)
        for q in SUMMARY_QUANTILES:
            t = float(np.quantile(time, q))
            step = np.searchsorted(at, t, side="right") - 1
            out["kaplan_meier"].append(
                {"quantile": q, "time": round(t, 6), "survival": round(float(prob[step]) if step >= 0 else 1.0, 4)}
            )
    return out


def _median_time(times: np.ndarray, prob: np.ndarray) -> float | None:
    """First time at which a step curve is at or below 0.5 (None: not reached)."""
    below = np.flatnonzero(prob <= 0.5)
    return float(times[below[0]]) if len(below) else None


def _first_duplicate(ids: np.ndarray) -> str | None:
    uniq, counts = np.unique(ids, return_counts=True)
    dup = uniq[counts > 1]
    return str(dup[0]) if len(dup) else None


def _is_jsonable(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict, type(None)))
