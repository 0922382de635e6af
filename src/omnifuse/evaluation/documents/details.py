"""``details.json``: what the report shows beyond metrics, from clean test predictions pooled
over repeats (built by :class:`omnifuse.evaluation.details.DetailsCollector`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Union

from pydantic import Field

from omnifuse.tasks import TaskName
from omnifuse.evaluation.documents.base import Document, Strict, Value, read_document

#: ``(C, C)`` counts, rows true and columns predicted; multilabel: one ``(2, 2)`` per label.
ConfusionMatrix = Union[list[list[int]], list[list[list[int]]]]


class Calibration(Strict):
    """The reliability diagram: per confidence bin, mean confidence, accuracy and count."""

    confidence: list[Value]
    accuracy: list[Value]
    count: list[int]


class ModalityWeights(Strict):
    """Per-sample weights a model gave each modality, among the samples that have it."""

    name: str = Field(description="What the weights are called (e.g. 'omega').")
    values: dict[str, list[Value]]


class Embeddings(Strict):
    """A t-SNE of one modality's embeddings: as encoded (original) and as imputed."""

    modality: str
    x: list[Value]
    y: list[Value]
    source: list[Literal["original", "imputed"]]
    label: list[int]


class MethodDetails(Strict):
    """One method's pooled clean test predictions."""

    confusion_matrix: ConfusionMatrix
    per_class_f1: dict[str, Value] = Field(default_factory=dict, description="Multiclass tasks only.")
    calibration: Calibration
    weights: ModalityWeights | None = None
    embeddings: Embeddings | None = Field(default=None, description="Models that impute absent modalities.")


class Hypnogram(Strict):
    """True and predicted stages over one recording (sleep data)."""

    recording: str
    epoch_seconds: float
    position: list[int]
    true: list[int]
    methods: dict[str, list[int]]


class ModalitySummary(Strict):
    """One modality of the cohort (see ``MultimodalDataset.summary``)."""

    kind: str
    n_features: int
    n_present: int
    n_absent: int
    time_unit: str | None = None
    max_steps: int | None = None
    median_steps: float | None = None
    observed_fraction: float | None = None


class DatasetSummary(Strict):
    """The cohort (``MultimodalDataset.summary``)."""

    n_samples: int
    n_groups: int
    task: TaskName
    modalities: dict[str, ModalitySummary]
    labels: dict[str, int]
    splits: dict[str, int]
    patterns: dict[str, int]
    info: dict[str, Any] = Field(default_factory=dict)
    survival: dict[str, Any] | None = Field(default=None, description="Events and follow-up of a survival cohort.")


class DetailsDocument(Document):
    """The ``details.json`` document."""

    NAME = "details"
    schema_version: Literal[1] = 1
    title: str
    task: TaskName
    classes: list[str]
    modalities: list[str]
    evaluated_on: str
    dataset: DatasetSummary
    hypnogram: Hypnogram | None = None
    truth: dict[str, Any] | None = Field(default=None, description="Ground truth of simulated data.")
    methods: dict[str, MethodDetails]


def read_details(path: Path) -> DetailsDocument:
    """``details.json`` at ``path``, validated; a one-line DataError names the file and field."""
    return read_document(path, DetailsDocument)
