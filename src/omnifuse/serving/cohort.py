"""Patients given as JSON -> a :class:`MultimodalDataset` with a model's schema.

The dataset has the schema's modalities in sorted order; a modality a patient did not send
is absent (masked, its row holds no values), and features left out of a sent vector
modality are NaN (not measured), which the model handles as it does in training::

    ds = patients_dataset([{"mrna": {...}, "mirna": [...]}], bundle.schema)
    bundle.fitted(ds).predict_details(np.arange(len(ds)))
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from omnifuse.data.arrays import IrregularSeries, LazyFiles, ModalityData
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.schema import DatasetSchema
from omnifuse.data.spec import ModalitySpec
from omnifuse.serving.patient import FieldProblem, InputError, Loc, Parsed, Series, parse_patient


def patients_dataset(
    patients: Sequence[Mapping[str, Any]], schema: DatasetSchema, locs: Sequence[Loc] | None = None
) -> MultimodalDataset:
    """One sample per patient (``patients[i]`` is its modalities object).

    ``locs[i]`` is where patient ``i``'s modalities sit in the request, prefixed to the
    location of its problems; by default ``(i,)``.

    Raises:
        InputError: the problems of every patient, located under ``locs``.
    """
    if locs is None:
        locs = [(i,) for i in range(len(patients))]
    parsed: list[dict[str, Parsed]] = []
    problems: list[FieldProblem] = []
    for modalities, loc in zip(patients, locs):
        try:
            parsed.append(parse_patient(modalities, schema))
        except InputError as exc:
            problems += [p.prefixed(loc) for p in exc.problems]
    if problems:
        raise InputError(problems)
    return parsed_dataset(parsed, schema)


def parsed_dataset(parsed: Sequence[Mapping[str, Parsed]], schema: DatasetSchema) -> MultimodalDataset:
    """The dataset of already parsed patients (see :func:`omnifuse.serving.patient.parse_patient`)."""
    n = len(parsed)
    data: dict[str, ModalityData] = {}
    mask = np.zeros((n, len(schema.modalities)), dtype=bool)
    for j, (name, spec) in enumerate(schema.specs.items()):
        rows = [p.get(name) for p in parsed]
        mask[:, j] = [r is not None for r in rows]
        data[name] = _container(spec, rows)
    return MultimodalDataset(
        specs=schema.specs,
        data=data,
        mask=mask,
        labels=placeholder_labels(schema, n),
        sample_ids=[str(i) for i in range(n)],  # positions; callers keep their own ids
    )


def placeholder_labels(schema: DatasetSchema, n: int) -> Labels:
    """Labels for ``n`` samples whose labels are unknown (patients to predict for).

    ``MultimodalDataset`` requires labels; prediction never reads them. Every sample gets
    class 0 (no label at all for multilabel tasks), with the model's task and class names
    so that compatibility checks see the model's classes; for a survival model, a censored
    time 0 in the model's time unit.
    """
    if schema.task == "survival":
        return placeholder_survival(schema, n)
    y: np.ndarray
    if schema.task == "multilabel":
        y = np.zeros((n, len(schema.class_names)), dtype=np.uint8)
    else:
        y = np.zeros(n, dtype=np.int64)
    return Labels(schema.task, y, schema.class_names)


def placeholder_survival(schema: DatasetSchema, n: int) -> Labels:
    """Survival labels for ``n`` patients to predict for: censored at time 0."""
    return Labels.survival(np.zeros(n), np.zeros(n, dtype=bool), schema.time_unit or "unknown")


def without_labels(dataset: MultimodalDataset, schema: DatasetSchema) -> MultimodalDataset:
    """``dataset`` with :func:`placeholder_labels`: predictions on data whose own label
    column (or its set of classes) differs from the model's."""
    return dataset.replace(labels=placeholder_labels(schema, len(dataset)))


def _container(spec: ModalitySpec, rows: Sequence[Parsed | None]) -> ModalityData:
    """One modality's container for ``rows`` (None = absent: no values)."""
    n = len(rows)
    if spec.kind == "timeseries":
        return _series_container(spec, [r if isinstance(r, Series) else None for r in rows])
    if spec.kind == "image":
        return LazyFiles(np.full(n, "", dtype=str))
    if spec.kind == "text":
        return np.full(n, "", dtype=str)
    if spec.kind == "signal":
        return np.full((n, *spec.shape), np.nan, dtype=np.float32)
    out = np.full((n, spec.n_features), np.nan, dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = cast(np.ndarray, row)  # vector kinds parse to arrays; series are handled above
    return out


def _series_container(spec: ModalitySpec, rows: Sequence[Series | None]) -> IrregularSeries:
    lengths = np.array([0 if r is None else len(r.times) for r in rows], dtype=np.int64)
    steps = max(1, int(lengths.max()) if len(lengths) else 1)
    values = np.full((len(rows), steps, spec.n_features), np.nan, dtype=np.float32)
    times = np.full((len(rows), steps), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        if r is not None:
            values[i, : len(r.times)] = r.values
            times[i, : len(r.times)] = r.times
    return IrregularSeries(values, times, lengths)


def model_modalities(dataset: MultimodalDataset, schema: DatasetSchema) -> MultimodalDataset:
    """``dataset`` restricted to the model's modalities when it has more (they are ignored,
    with a warning). Every sample is kept, even one left without any modality (its answer is
    the model's "nothing observed" answer). A missing modality is left for
    :func:`omnifuse.data.schema.check_compatible` to report with the other differences."""
    wanted = list(schema.modalities)
    extra = [m for m in dataset.modalities if m not in schema.specs]
    if not extra or any(m not in dataset.specs for m in wanted):
        return dataset
    warnings.warn(f"the model does not use modalities {', '.join(extra)} of the data: they are ignored", stacklevel=2)
    return dataset.select_modalities(wanted)
