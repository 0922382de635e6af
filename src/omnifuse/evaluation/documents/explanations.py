"""``explain.json``: feature attributions per patient (``omnifuse explain``), and the
explanation a ``POST /predict`` with ``"explain": true`` answers.

Per patient and *present* modality: the signed total attribution, the modality's
``share`` of all absolute attribution, the top features (name, the patient's value,
attribution) and, for time series, the top ``(channel, time window)`` cells. A modality
the patient lacks is listed in ``absent`` and has no entry (never a zero-valued one).
The ``summary`` aggregates over the explained patients, per modality: the mean share, the
model's own mean modality weight where it has one, and a global feature importance (mean
absolute attribution over the patients that have the modality); the report plots it.

How the numbers are computed is :mod:`omnifuse.trust.attributions`'s business; this
module only fixes the layout, so the report (evaluation) and the server can read it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from omnifuse.evaluation.documents.base import Document, Strict, Value, read_document
from omnifuse.tasks import TaskName

#: The attribution methods: integrated gradients (neural models), exact tree SHAP (sk-hgb),
#: exact linear SHAP (sk-logreg; sk-stack on binary tasks, whose margin is linear in the
#: features), sk-stack on multiclass tasks (exact per modality, integrated gradients of each
#: modality's scores within it), none (a predictor that is constant).
Method = Literal["integrated_gradients", "tree_shap", "linear_shap", "stack_integrated_gradients", "constant"]


class FeatureAttribution(Strict):
    """One feature (for time series: one channel, summed over time)."""

    name: str
    value: Value = Field(
        None,
        description="The patient's value in the units of the data (time-series channel: the mean of its "
        "observed values; scikit-learn summaries: the summary); null: not measured (the model saw the "
        "training mean) or no single value (an image, a multi-dimensional input).",
    )
    attribution: float


class WindowAttribution(Strict):
    """A time series' attribution summed over one channel and one time window ``[start, end)``."""

    channel: str
    start: float
    end: float
    value: Value = Field(None, description="Mean of the channel's observed values in the window.")
    attribution: float


class ModalityAttribution(Strict):
    """One present modality: signed ``total``, ``share`` of all absolute attribution, the
    ``top_k`` features (channels for time series) and, for time series, the top windows."""

    total: float
    share: float = Field(ge=0.0, le=1.0)
    features: list[FeatureAttribution]
    windows: list[WindowAttribution] = Field(default_factory=list)


class Explanation(Strict):
    """What moved one patient's prediction, as ``POST /predict`` answers it.

    ``score`` is the explained output (``output`` says which: a log-odds, log-probability or
    margin of the ``target`` class), ``baseline_score`` its value for the baseline patient
    (the training mean, same availability); attributions sum to their difference up to
    ``delta`` (numerical integration error; 0 for the exact SHAP methods).
    ``availability_effect`` is how much the score moved because of which modalities are
    present (scikit-learn baselines, whose inputs carry availability indicators and imputed
    values; 0 for neural models, whose availability mask is held fixed).
    """

    method: Method
    target: str
    output: str
    score: float
    baseline_score: float
    modalities: dict[str, ModalityAttribution] = Field(description="Present, attributed modalities only.")
    absent: list[str] = Field(description="Modalities the patient lacks: no attribution at all.")
    availability_effect: float = 0.0
    not_attributed: list[str] = Field(
        default_factory=list, description="Present modalities attributions do not cover (e.g. texts)."
    )
    delta: float = 0.0


class PatientAttribution(Explanation):
    """One patient of ``explain.json``."""

    sample_id: str
    modality_weights: dict[str, Value] | None = Field(
        None, description="The model's own per-patient modality weights (omega, attention, gates), if it has them."
    )


class FeatureImportance(Strict):
    """A feature's global importance: mean absolute attribution over the patients having its modality."""

    name: str
    mean_abs_attribution: float
    mean_attribution: float


class ModalityImportance(Strict):
    """One modality over the explained patients that have it."""

    n_present: int = Field(ge=0)
    mean_share: Value = Field(description="Mean attribution share (null: no patient has the modality).")
    mean_weight: Value = Field(None, description="Mean of the model's own weight of the modality (null: none).")
    mean_weight_normalised: Value = Field(
        None,
        description="Mean of the model's weight divided by the sum over the patient's present modalities "
        "(comparable with the share; null: no weights).",
    )
    features: list[FeatureImportance] = Field(description="The most important features, most important first.")


class ExplanationsDocument(Document):
    """``explain.json``: one entry per explained patient plus the per-modality summary."""

    NAME = "explanations"
    schema_version: int = 1
    run: str
    model: str
    data: str
    split: str | None = None
    task: TaskName
    classes: list[str]
    modalities: list[str]
    method: Method
    top_k: int = Field(ge=1)
    modality_weights: str | None = Field(description="What the model's modality weights are (null: it has none).")
    n_patients: int = Field(ge=0)
    summary: dict[str, ModalityImportance]
    patients: list[PatientAttribution]


def read_explanations(path: Path) -> ExplanationsDocument:
    """``explain.json`` validated (one DataError line naming the file and field otherwise)."""
    return read_document(path, ExplanationsDocument)
