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
    """A t-SNE of one modality's embeddings: as encoded (original) and as imputed.

    ``label`` is the class index (multilabel: the first present label; survival: 1 where the
    event was observed, 0 where censored)."""

    modality: str
    x: list[Value]
    y: list[Value]
    source: list[Literal["original", "imputed"]]
    label: list[int]


class SurvivalFold(Strict):
    """One repeat (fold, or seed of a fixed split) of a survival method's predictions."""

    label: str = Field(description="The repeat's label, as in results.json's ``repeats`` (e.g. 'seed 0 fold 2').")
    horizons: list[Value] = Field(
        description="The readout horizons of the fold's model: quartiles of its training samples' event times "
        "(merged when equal), ascending; ``SurvivalDetails.survival`` is given at these times."
    )
    risk_median: Value = Field(
        description="Median predicted risk of the fold's training samples: test samples above it form the "
        "'high risk' group, the others the 'low risk' group (a split fixed before the test samples are seen)."
    )


class SurvivalDetails(Strict):
    """Per clean test sample of every repeat of a survival method (samples pooled over repeats,
    in repeat order; every list has one entry per sample), for Kaplan-Meier curves of predicted
    risk groups and calibration at the horizons."""

    time_unit: str | None = Field(default=None, description="Unit of ``time``, ``horizons`` (e.g. 'days').")
    folds: list[SurvivalFold] = Field(description="The repeats; ``fold`` indexes this list.")
    sample_id: list[str]
    fold: list[int] = Field(description="Index in ``folds`` of the repeat the sample was a test sample of.")
    time: list[float] = Field(description="Observed time (event or censoring).")
    event: list[bool] = Field(description="True where the event was observed, False where censored.")
    risk: list[Value] = Field(description="Predicted risk (higher: the event is expected sooner); "
                              "the log-risk of a Cox head, comparable within a fold only.")  # fmt: skip
    survival: list[list[Value]] = Field(
        description="Predicted survival probability at each of its fold's ``horizons`` (same length)."
    )


class MethodDetails(Strict):
    """One method's pooled clean test predictions.

    Classification tasks fill ``confusion_matrix``, ``per_class_f1`` and ``calibration``;
    survival tasks leave them empty and fill ``survival`` instead.
    """

    confusion_matrix: ConfusionMatrix = Field(default_factory=list, description="Empty for survival tasks.")
    per_class_f1: dict[str, Value] = Field(default_factory=dict, description="Multiclass tasks only.")
    calibration: Calibration = Field(
        default_factory=lambda: Calibration(confidence=[], accuracy=[], count=[]),
        description="Empty for survival tasks.",
    )
    weights: ModalityWeights | None = None
    embeddings: Embeddings | None = Field(default=None, description="Models that impute absent modalities.")
    survival: SurvivalDetails | None = Field(default=None, description="Survival tasks only.")


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
    """The ``details.json`` document.

    Per method (``methods``): classification tasks carry confusion matrices, per-class F1 and
    the reliability diagram; survival tasks carry ``survival`` (:class:`SurvivalDetails`):
    every clean test sample of every repeat with its ``sample_id``, ``fold`` (index into
    ``folds``), observed ``time`` and ``event``, predicted ``risk`` and predicted ``survival``
    at its fold's readout ``horizons``; each fold also records ``risk_median``, the median
    risk of its training samples, which splits its test samples into high/low risk groups
    for Kaplan-Meier curves. ``dataset.survival`` is the cohort's event/censoring summary.
    Both kinds may carry modality ``weights`` and ``embeddings``.
    """

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
