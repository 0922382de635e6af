"""``explain.json``: per-patient attributions plus the per-modality summary the report plots."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.evaluation.documents.explanations import (
    ExplanationsDocument,
    FeatureImportance,
    Method,
    ModalityImportance,
    PatientAttribution,
)
from omnifuse.trust.attributions.common import check_top_k

#: Features per modality in the summary's global importance.
GLOBAL_TOP = 20


def explanations_document(
    answers: Sequence[PatientAttribution],
    dataset: MultimodalDataset,
    top_k: int,
    method: Method,
    weights: np.ndarray | None = None,
    weights_description: str | None = None,
    run: str = "",
    model: str = "",
    data: str = "",
    split: str | None = None,
) -> ExplanationsDocument:
    """The document of ``answers`` (one per sample of ``dataset``, in order, computed with
    every feature kept: ``top_k=None``): each patient's features cut to ``top_k``, the model's
    ``(n, M)`` modality ``weights`` attached, and the summary over all features."""
    check_top_k(top_k)
    mods = list(dataset.modalities)
    patients = []
    for i, a in enumerate(answers):
        cut = {
            m: e.model_copy(update={"features": e.features[:top_k], "windows": e.windows[:top_k]})
            for m, e in a.modalities.items()
        }
        patients.append(
            a.model_copy(
                update={
                    "modalities": cut,
                    "modality_weights": None if weights is None else {m: float(w) for m, w in zip(mods, weights[i])},
                }
            )
        )
    return ExplanationsDocument(
        run=run,
        model=model,
        data=data,
        split=split,
        task=dataset.task,
        classes=[str(c) for c in dataset.class_names],
        modalities=mods,
        method=method,
        top_k=top_k,
        modality_weights=weights_description,
        n_patients=len(patients),
        summary=modality_summary(answers, mods, weights),
        patients=patients,
    )


def modality_summary(
    answers: Sequence[PatientAttribution], modalities: Sequence[str], weights: np.ndarray | None = None
) -> dict[str, ModalityImportance]:
    """Per modality over the patients with an attribution of it: mean share, mean model weight
    (raw, and normalised over each patient's attributed modalities) and the :data:`GLOBAL_TOP`
    features by mean absolute attribution (a feature missing from a patient's list counts 0)."""
    out = {}
    for j, m in enumerate(modalities):
        having = [i for i, a in enumerate(answers) if m in a.modalities]
        n = len(having)
        sums: dict[str, list[float]] = {}
        for i in having:
            for f in answers[i].modalities[m].features:
                entry = sums.setdefault(f.name, [0.0, 0.0])
                entry[0] += abs(f.attribution)
                entry[1] += f.attribution
        features = sorted(
            (
                FeatureImportance(name=k, mean_abs_attribution=v[0] / n, mean_attribution=v[1] / n)
                for k, v in sums.items()
            ),
            key=lambda f: (-f.mean_abs_attribution, f.name),
        )[:GLOBAL_TOP]
        mean_weight = normalised = None
        if weights is not None and n:
            w = np.asarray(weights, dtype=np.float64)
            mean_weight = float(np.mean([w[i, j] for i in having]))
            ratios = []
            for i in having:
                total = sum(w[i, c] for c, k in enumerate(modalities) if k in answers[i].modalities)
                if total > 0:
                    ratios.append(w[i, j] / total)
            normalised = float(np.mean(ratios)) if ratios else None
        out[m] = ModalityImportance(
            n_present=n,
            mean_share=float(np.mean([answers[i].modalities[m].share for i in having])) if n else None,
            mean_weight=mean_weight,
            mean_weight_normalised=normalised,
            features=features,
        )
    return out
