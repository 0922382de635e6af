"""A bundle's answers for patients: probabilities, the predicted class and the explanation.

Every answer (one per sample) is a plain dict, the same for ``omnifuse predict`` and the
server::

    {"id": "A0FJ",
     "probabilities": {"Basal": 0.91, ...},
     "predicted_class": "Basal",            # None for multilabel tasks
     "predicted_labels": None,              # multilabel: the labels with probability >= 0.5
     "modality_weights": {"mirna": 0.4, "mrna": 0.6, "protein": 0.0},   # None if the model has none
     "modality_probabilities": {"mirna": {...}, "mrna": {...}},          # unimodal heads, where present
     "present": ["mirna", "mrna"], "absent": ["protein"], "imputed": ["protein"],
     "ensemble_spread": None,               # seed ensembles: std of the members' probabilities
     "prediction_set": ["Basal", "Her2"],   # conformal sets (None when the bundle has none)
     "conformal": {"coverage": 0.9, "pattern": "mirna+mrna", "threshold": 0.62,
                   "class_thresholds": None,  # --set conformal_by_class=true: per class
                   "threshold_source": "pattern", "n_calibration": 31}}

A bundle trained with ``--set conformal=0.9`` answers binary and multiclass tasks with a
conformal prediction set: the classes whose score ``1 - p`` is at most the threshold
calibrated on the validation samples of the patient's availability pattern
(``threshold_source`` "pattern"), on the validation samples that have the pattern's
modalities with the others hidden ("masked") when the pattern itself had too few, or on all
validation samples pooled ("pooled") when even those were too few
(:mod:`omnifuse.uncertainty.conformal`); sets by class (``conformal_by_class``) give one
threshold per class (``class_thresholds``) instead of one ``threshold``. Sets contain the true
class with probability at least ``coverage`` for patients exchangeable with the validation
samples. Probabilities are calibrated when the bundle has a temperature
(``--set calibrate=temperature``; :func:`omnifuse.serving.set_answers.calibration_info`).

``modality_weights`` are the model's per-sample weights of each modality (omega for
OmniFuse, attention or gate weights for fusions that have them; absent modalities get 0).
``modality_probabilities`` holds the unimodal heads of modalities that were present or
imputed (a head applied to an absent, non-imputed modality carries no information).

A survival model answers with a risk and a survival curve instead of class probabilities
(:func:`survival_records`)::

    {"id": "P7",
     "risk": 0.83,                          # higher: the event is expected sooner
     "survival": [{"time": 412.0, "survival": 0.81}, ...],   # at the model's horizons
     "time_unit": "days",
     "modality_weights": {...}, "modality_risks": {"clin": 0.9, ...},
     "present": [...], "absent": [...], "imputed": [...],
     "risk_spread": None}                   # Cox-head seed ensembles: std of the members' risks

The horizons are the model's (``bundle.readout.horizons``: quartiles of the training event
times); ``modality_risks`` are the risks of the unimodal heads of present or imputed
modalities (models with such heads).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.serving.set_answers import SetAnswers, class_values, finite, prediction_sets
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.tasks import SINGLE_LABEL_TASKS
from omnifuse.training.fit import FittedModel, PredictionDetails

#: Probability at or above which a label of a multilabel task is predicted.
MULTILABEL_THRESHOLD = 0.5
#: Joins the class names of a prediction set in a CSV cell.
SET_SEPARATOR = "|"


class Predictor:
    """Predicts with a loaded bundle; safe to call from several threads.

    Preparing the data (standardisation, collation) runs concurrently; the forward pass is
    serialised by a lock (one model instance shared by every request).
    """

    def __init__(self, bundle: Any) -> None:
        self.bundle = bundle
        self._lock = threading.Lock()

    @property
    def imputes_absent(self) -> bool:
        return bool(getattr(self.bundle.model, "imputes_absent", False))

    def details(self, dataset: MultimodalDataset) -> PredictionDetails:
        """Probabilities, weights, absent and imputed modalities of every sample of ``dataset``."""
        fitted = self.bundle.fitted(dataset)  # checks compatibility, standardises, collates
        with self._lock:
            return fitted.predict_details(np.arange(len(dataset)))

    def answers(self, dataset: MultimodalDataset, ids: Sequence[str | None] | None = None) -> list[dict[str, Any]]:
        """One answer per sample of ``dataset`` (``ids`` default to its sample ids)."""
        if dataset.task == "survival":
            return self.survival_answers(dataset, ids)
        return self.records(dataset, self.details(dataset), ids)

    def records(
        self, dataset: MultimodalDataset, details: PredictionDetails, ids: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """The answers ``details`` (of ``dataset``'s samples) give: binary decisions at the
        bundle's operating point, and conformal sets when the bundle has them."""
        ids = list(dataset.sample_ids) if ids is None else list(ids)
        threshold = getattr(self.bundle, "info", {}).get("threshold")
        sets = self.sets(dataset, details)
        return answer_records(details, dataset.modalities, dataset.class_names, dataset.task, ids, threshold, sets)

    def sets(self, dataset: MultimodalDataset, details: PredictionDetails) -> "SetAnswers | None":
        """The conformal sets of ``details`` (None, computing nothing, when the bundle has no
        conformal calibration)."""
        conformal = getattr(self.bundle, "conformal", None)
        if conformal is None or dataset.task not in SINGLE_LABEL_TASKS:
            return None
        return prediction_sets(conformal, details.probs, dataset.pattern_names())

    def survival_answers(
        self, dataset: MultimodalDataset, ids: Sequence[str | None] | None = None
    ) -> list[dict[str, Any]]:
        """A survival model's answers (risk, survival curve at its horizons) for ``dataset``."""
        fitted = self.bundle.fitted(dataset)
        index = np.arange(len(dataset))
        with self._lock:
            details = fitted.predict_details(index)
            risk, curves = survival_outputs(fitted, details, index)
        ids = list(dataset.sample_ids) if ids is None else list(ids)
        return survival_records(details, risk, curves, _readout(fitted), dataset.modalities, ids)


def answer_records(
    details: PredictionDetails,
    modalities: Sequence[str],
    classes: Sequence[str],
    task: str,
    ids: Sequence[str | None],
    threshold: float | None = None,
    sets: SetAnswers | None = None,
) -> list[dict[str, Any]]:
    """``details`` as one answer dict per sample (see the module docstring); a binary
    task's predicted class is the second when its probability is at least ``threshold``
    (the bundle's operating point; None: the argmax, i.e. 0.5). With ``sets`` every answer
    carries its ``prediction_set`` and ``conformal`` part (else both are None)."""
    mods = list(modalities)
    classes = [str(c) for c in classes]
    probs = np.asarray(details.probs, dtype=np.float64)
    absent = np.asarray(details.absent, dtype=bool)
    imputed = np.asarray(details.imputed, dtype=bool)
    weights = None if details.weights is None else np.asarray(details.weights, dtype=np.float64)
    unimodal = {m: np.asarray(p, dtype=np.float64) for m, p in details.modality_probs.items()}
    spread = None if details.spread is None else np.asarray(details.spread, dtype=np.float64)
    out = []
    for i, sample_id in enumerate(ids):
        row = probs[i]
        answer: dict[str, Any] = {
            "id": None if sample_id is None else str(sample_id),
            "probabilities": class_values(classes, row),
            "predicted_class": None if task == "multilabel" else classes[_decision(row, task, threshold)],
            "predicted_labels": (
                [c for c, p in zip(classes, row) if p >= MULTILABEL_THRESHOLD] if task == "multilabel" else None
            ),
            "modality_weights": None if weights is None else {m: finite(w) for m, w in zip(mods, weights[i])},
            "modality_probabilities": {
                m: class_values(classes, unimodal[m][i])
                for m in mods
                if m in unimodal and (not absent[i, mods.index(m)] or imputed[i, mods.index(m)])
            },
            "present": [m for j, m in enumerate(mods) if not absent[i, j]],
            "absent": [m for j, m in enumerate(mods) if absent[i, j]],
            "imputed": [m for j, m in enumerate(mods) if imputed[i, j]],
            "ensemble_spread": None if spread is None else class_values(classes, spread[i]),
            "prediction_set": None,
            "conformal": None,
        }
        if sets is not None:
            answer["prediction_set"], answer["conformal"] = sets.answer(i, classes)
        out.append(answer)
    return out


def flat_rows(
    answers: Sequence[dict[str, Any]], modalities: Sequence[str], classes: Sequence[str]
) -> list[dict[str, Any]]:
    """Answers as flat table rows: ``id, predicted_class, p_<class>..., weight_<modality>...,
    p_<modality>_<class>..., present, absent, imputed`` (modality lists joined with "+"),
    then ``spread_<class>...`` for ensembles and, with conformal sets, ``prediction_set``
    (class names joined with "|"), ``set_coverage``, ``set_pattern``, ``set_threshold``,
    ``set_threshold_source`` and ``set_n_calibration``."""
    rows = []
    for a in answers:
        row: dict[str, Any] = {"id": a["id"]}
        predicted = a["predicted_class"] if a["predicted_labels"] is None else "|".join(a["predicted_labels"])
        row["predicted_class"] = predicted
        row.update({f"p_{c}": a["probabilities"][c] for c in classes})
        for m in modalities:
            row[f"weight_{m}"] = None if a["modality_weights"] is None else a["modality_weights"][m]
        for m in modalities:
            head = a["modality_probabilities"].get(m)
            row.update({f"p_{m}_{c}": None if head is None else head[c] for c in classes})
        row.update({k: "+".join(a[k]) for k in ("present", "absent", "imputed")})
        if a.get("ensemble_spread") is not None:
            row.update({f"spread_{c}": a["ensemble_spread"][c] for c in classes})
        if a.get("prediction_set") is not None:
            row["prediction_set"] = SET_SEPARATOR.join(a["prediction_set"])
            part = a["conformal"]
            row.update({f"set_{k}": v for k, v in part.items() if k != "class_thresholds"})
            if part.get("class_thresholds") is not None:
                row.update({f"set_threshold_{c}": part["class_thresholds"][c] for c in classes})
        rows.append(row)
    return rows


def survival_outputs(
    fitted: FittedModel, details: PredictionDetails, index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(n,)`` risks and ``(n, H)`` survival at the readout's horizons of the samples
    ``details`` describes (from its outputs; an estimator's curves come from the estimator)."""
    readout = _readout(fitted)
    if readout.head == "estimator":
        return fitted.predict_risk(index), fitted.predict_survival(index, readout.horizons)
    return readout.risk(details.probs), readout.survival(details.probs, readout.horizons)


def survival_records(
    details: PredictionDetails,
    risk: np.ndarray,
    curves: np.ndarray,
    readout: SurvivalReadout,
    modalities: Sequence[str],
    ids: Sequence[str | None],
) -> list[dict[str, Any]]:
    """A survival model's answers, one dict per sample (see the module docstring)."""
    mods = list(modalities)
    absent = np.asarray(details.absent, dtype=bool)
    imputed = np.asarray(details.imputed, dtype=bool)
    weights = None if details.weights is None else np.asarray(details.weights, dtype=np.float64)
    unimodal = {m: readout.risk(p) for m, p in details.modality_probs.items()} if readout.head != "estimator" else {}
    spread = details.spread if details.spread is not None and readout.head == "cox" else None
    horizons = [float(t) for t in readout.horizons]
    out = []
    for i, sample_id in enumerate(ids):
        shown = [m for j, m in enumerate(mods) if m in unimodal and (not absent[i, j] or imputed[i, j])]
        out.append(
            {
                "id": None if sample_id is None else str(sample_id),
                "risk": finite(risk[i]),
                "survival": [{"time": t, "survival": finite(s)} for t, s in zip(horizons, curves[i])],
                "time_unit": readout.time_unit,
                "modality_weights": None if weights is None else {m: finite(w) for m, w in zip(mods, weights[i])},
                "modality_risks": {m: finite(unimodal[m][i]) for m in shown},
                "present": [m for j, m in enumerate(mods) if not absent[i, j]],
                "absent": [m for j, m in enumerate(mods) if absent[i, j]],
                "imputed": [m for j, m in enumerate(mods) if imputed[i, j]],
                "risk_spread": None if spread is None else finite(np.asarray(spread)[i, 0]),
            }
        )
    return out


def survival_rows(answers: Sequence[dict[str, Any]], modalities: Sequence[str]) -> list[dict[str, Any]]:
    """Survival answers as flat table rows: ``id, risk, survival_<time>..., weight_<modality>...,
    risk_<modality>..., present, absent, imputed`` (and ``risk_spread`` for ensembles)."""
    rows = []
    for a in answers:
        row: dict[str, Any] = {"id": a["id"], "risk": a["risk"]}
        row.update({f"survival_{p['time']:g}": p["survival"] for p in a["survival"]})
        for m in modalities:
            row[f"weight_{m}"] = None if a["modality_weights"] is None else a["modality_weights"][m]
        row.update({f"risk_{m}": a["modality_risks"].get(m) for m in modalities})
        row.update({k: "+".join(a[k]) for k in ("present", "absent", "imputed")})
        if a.get("risk_spread") is not None:
            row["risk_spread"] = a["risk_spread"]
        rows.append(row)
    return rows


def _readout(fitted: FittedModel) -> SurvivalReadout:
    if fitted.readout is None:
        raise ConfigError(f"model '{fitted.name}' is a survival model without a readout: it cannot answer")
    return fitted.readout


def weights_description(model_name: str, has_weights: bool) -> str | None:
    """What ``modality_weights`` mean for this model (None when it has no weights)."""
    if not has_weights:
        return None
    if model_name.startswith("omnifuse"):
        return (
            "omega (DWFuse, in [0, 1]): a modality's weight is high when the other present modalities "
            "are unsure of this patient; 0 for absent modalities"
        )
    return "the fusion's per-patient modality weights (attention or gates; 0 for absent modalities)"


def _decision(row: np.ndarray, task: str, threshold: float | None) -> int:
    if task == "binary" and threshold is not None and len(row) == 2:
        return int(row[1] >= threshold)
    return int(np.argmax(row))
