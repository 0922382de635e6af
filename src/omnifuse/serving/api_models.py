"""Request and response bodies of the HTTP API (pydantic v2; they make the OpenAPI schema).

The envelope (``id``, ``modalities``, ``patients``) is validated here, strictly
(``extra="forbid"``); what a modality holds is checked against the model by
:mod:`omnifuse.serving.patient`, which names the offending field just as pydantic does.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from omnifuse.evaluation.documents.explanations import Explanation

_NUMBER = {"anyOf": [{"type": "number"}, {"type": "null"}]}

#: What one modality may hold (see omnifuse.serving.patient for the rules).
MODALITY_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "object",
            "additionalProperties": _NUMBER,
            "title": "Features",
            "description": "Vector modality: {feature: value} for any subset of its features (the others were not measured).",
        },
        {
            "type": "array",
            "items": _NUMBER,
            "title": "Values",
            "description": "Vector modality: all its values in feature order (null = not measured).",
        },
        {
            "type": "array",
            "title": "Observations",
            "items": {
                "type": "object",
                "properties": {"time": {"type": "number"}},
                "required": ["time"],
                "additionalProperties": _NUMBER,
            },
            "description": 'Time series modality: observations {"time": t, channel: value, ...}.',
        },
    ],
}


def _object_or_array(value: Any) -> Any:
    if not isinstance(value, (dict, list)):
        raise PydanticCustomError("modality_type", "expected an object of feature values or an array")
    return value


ModalityData = Annotated[Any, PlainValidator(_object_or_array), WithJsonSchema(MODALITY_JSON_SCHEMA)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientRequest(_Strict):
    """One patient: any non-empty subset of the model's modalities (the others are absent)."""

    id: Optional[str] = Field(None, max_length=256, description="Your identifier, echoed in the answer.")
    modalities: dict[str, ModalityData] = Field(
        ...,
        min_length=1,
        description="Modality name -> its data (see GET /model for the names, kinds and features).",
        examples=[{"mrna": {"ESR1": 5.2, "GATA3": 7.1}, "mirna": [11.8, 12.9, 11.9]}],
    )


class PredictRequest(PatientRequest):
    """One patient, optionally with the answer explained by feature attributions."""

    explain: bool = Field(
        False,
        description="Also answer which features moved the prediction (feature attributions per present "
        "modality; see GET /model for the method). Slower: a few forward and backward passes.",
    )
    top_k: int = Field(5, ge=1, le=50, description="With explain: features (and time windows) kept per modality.")


class BatchRequest(_Strict):
    """Several patients, answered in order."""

    patients: list[PatientRequest] = Field(..., min_length=1, description="At most the server's --max-batch patients.")


class SetThreshold(_Strict):
    """How one patient's conformal prediction set was made."""

    coverage: float = Field(
        ..., description="Coverage target: sets contain the true class for at least this share of patients."
    )
    pattern: str = Field(..., description="The patient's availability pattern (present modalities joined by '+').")
    threshold: Optional[float] = Field(
        ..., description="Score threshold: a class is in the set when 1 - probability <= it (null: by class)."
    )
    class_thresholds: Optional[dict[str, float]] = Field(
        None, description="Sets by class (conformal_by_class): class name -> its own threshold; null otherwise."
    )
    threshold_source: Literal["pattern", "masked", "pooled"] = Field(
        ...,
        description="'pattern': calibrated on the validation patients of this availability pattern; 'masked': "
        "this pattern's own too, calibrated on validation patients with its modalities and the others hidden "
        "(the pattern itself had too few); 'pooled': on all validation patients (too few either way; see GET /model).",
    )
    n_calibration: int = Field(..., description="Validation patients the threshold was calibrated on.")


class Prediction(_Strict):
    """The model's answer for one patient, with which modalities drove it and which were imputed."""

    id: Optional[str] = Field(None, description="The request's id.")
    probabilities: dict[str, float] = Field(..., description="Class name -> probability.")
    predicted_class: Optional[str] = Field(..., description="Most probable class (null for multilabel tasks).")
    predicted_labels: Optional[list[str]] = Field(..., description="Multilabel tasks: labels with probability >= 0.5.")
    modality_weights: Optional[dict[str, float]] = Field(
        ...,
        description="Per-modality weights for this patient (OmniFuse's omega, attention or gates); "
        "null when the model has none. See GET /model.",
    )
    modality_probabilities: dict[str, dict[str, float]] = Field(
        ..., description="Unimodal heads' probabilities of present or imputed modalities (models with such heads)."
    )
    present: list[str] = Field(..., description="Modalities the patient has.")
    absent: list[str] = Field(..., description="Modalities the patient lacks.")
    imputed: list[str] = Field(..., description="Absent modalities whose representation the model imputed.")
    ensemble_spread: Optional[dict[str, float]] = Field(
        None,
        description="Seed ensembles: class name -> standard deviation of the members' probabilities "
        "(an uncertainty); null for a single model.",
    )
    prediction_set: Optional[list[str]] = Field(
        None,
        description="Conformal prediction set: the classes that cannot be ruled out at the coverage target "
        "(models trained with --set conformal=0.9; null otherwise). One class: a confident answer; "
        "several: the model cannot tell them apart for this patient.",
    )
    conformal: Optional[SetThreshold] = Field(
        None, description="How the prediction set was made (coverage, threshold and its source); null without sets."
    )


class ExplainedPrediction(Prediction):
    """The answer of ``POST /predict``: a prediction, explained when the request asked."""

    explanation: Optional[Explanation] = Field(
        None,
        description="With explain: per present modality its share of the total absolute attribution and "
        "its top features (name, value, signed attribution); absent modalities get none. Null otherwise.",
    )


class BatchResponse(_Strict):
    predictions: list[Prediction]


class SurvivalPoint(_Strict):
    time: float = Field(..., description="A horizon, in the model's time unit.")
    survival: float = Field(..., description="Probability of being event-free at that time.")


class SurvivalPrediction(_Strict):
    """A survival model's answer for one patient: a risk score and a survival curve."""

    id: Optional[str] = Field(None, description="The request's id.")
    risk: float = Field(..., description="Risk score (higher: the event is expected sooner); ranks patients.")
    survival: list[SurvivalPoint] = Field(
        ..., description="Survival probability at the model's horizons (quartiles of training event times)."
    )
    time_unit: Optional[str] = Field(..., description="Unit of the horizons.")
    modality_weights: Optional[dict[str, float]] = Field(
        ...,
        description="Per-modality weights for this patient (attention or gates); null when the model has none.",
    )
    modality_risks: dict[str, float] = Field(
        ..., description="Unimodal heads' risks of present or imputed modalities (models with such heads)."
    )
    present: list[str] = Field(..., description="Modalities the patient has.")
    absent: list[str] = Field(..., description="Modalities the patient lacks.")
    imputed: list[str] = Field(..., description="Absent modalities whose representation the model imputed.")
    risk_spread: Optional[float] = Field(
        None, description="Seed ensembles of Cox models: standard deviation of the members' risks; else null."
    )


class SurvivalBatchResponse(_Strict):
    predictions: list[SurvivalPrediction]


def response_models(task: str) -> tuple[type[BaseModel], type[BaseModel]]:
    """The answer and batch answer bodies of a model of ``task``."""
    if task == "survival":
        return SurvivalPrediction, SurvivalBatchResponse
    return Prediction, BatchResponse


class ModalityInfo(_Strict):
    name: str
    kind: str
    features: list[str] = Field(..., description="Feature names (vector kinds) or channels (time series), in order.")
    accepted: bool = Field(
        ..., description="Whether requests can carry this modality (images, texts and signals cannot; they are absent)."
    )
    input: str = Field(..., description="How to send it.")
    time_unit: Optional[str] = None


class CalibrationInfo(_Strict):
    """The temperature every probability the model answers is divided by (as logits)."""

    method: Literal["temperature"] = "temperature"
    temperature: float = Field(
        ..., description="Fitted on the validation samples (> 1 softened an over-confident model)."
    )
    n_samples: int = Field(..., description="Validation samples it was fitted on.")


class PatternThreshold(_Strict):
    threshold: float = Field(..., description="Score threshold of this availability pattern.")
    n: int = Field(..., description="Validation samples it was calibrated on.")
    source: Literal["pattern", "masked"] = Field(
        ..., description="'pattern': its own validation samples; 'masked': those with its modalities, others hidden."
    )
    class_thresholds: Optional[list[float]] = Field(None, description="By class: per class, in class order.")


class ConformalInfo(_Strict):
    """Split conformal prediction sets (LAC score 1 - p), Mondrian by availability pattern."""

    coverage: float = Field(..., description="Coverage target of the sets.")
    pooled_threshold: float = Field(
        ..., description="Threshold calibrated on all validation samples (patterns with too few)."
    )
    n_calibration: int = Field(..., description="Validation samples calibrated on.")
    min_per_pattern: int = Field(..., description="Validation samples a pattern needs for a threshold of its own.")
    patterns: dict[str, PatternThreshold] = Field(..., description="Patterns with their own threshold.")
    pooled_patterns: dict[str, int] = Field(
        ..., description="Patterns seen in validation with too few samples (their count): they use the pooled one."
    )
    by_class: bool = Field(False, description="Each class has its own threshold (conformal_by_class).")
    pooled_class_thresholds: Optional[list[float]] = Field(None, description="By class: pooled, in class order.")


class ModelInfo(_Strict):
    name: str
    task: str
    classes: list[str]
    modalities: list[ModalityInfo]
    modality_weights: Optional[str] = Field(..., description="What modality_weights mean (null: none).")
    imputes_absent: bool = Field(..., description="Whether absent modalities are imputed.")
    attributions: Optional[str] = Field(
        None, description='How a request with "explain": true is explained, or why it cannot be.'
    )
    metrics: dict[str, Optional[float]] = Field(..., description="Validation metrics at training time.")
    calibration: Optional[CalibrationInfo] = Field(
        None, description="Temperature scaling of the probabilities (null: uncalibrated, the model's own)."
    )
    conformal: Optional[ConformalInfo] = Field(
        None, description="Conformal prediction sets of the answers (null: the answers carry none)."
    )
    omnifuse_version: str = Field(..., description="omnifuse serving the model.")
    trained_with: str = Field(..., description="omnifuse version that trained it.")
    created: str


class SurvivalInfo(_Strict):
    head: str = Field(..., description="cox, logistic_hazard or estimator.")
    horizons: list[float] = Field(..., description="Times the answers give survival at.")
    time_unit: Optional[str]


class SurvivalModelInfo(ModelInfo):
    """``GET /model`` of a survival model: its horizons and time unit besides the rest."""

    survival: SurvivalInfo


class Health(_Strict):
    status: Literal["ok"]
    model: str


class ErrorItem(BaseModel):
    loc: list[Union[str, int]]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    detail: Union[str, list[ErrorItem]]
