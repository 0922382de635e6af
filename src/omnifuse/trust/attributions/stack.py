"""Attributions of ``sk-stack`` (per-modality logistic regressions under a linear combiner).

A patient is scored by the combiner fitted on exactly its present modalities, so its
explained score, the combiner's margin of the target class, is a sum over the present
modalities: ``margin = b + sum_m w_m . s_m(x_m)`` with ``s_m`` modality m's scores. The
baseline is the same combiner at every present modality's training mean ``mu_m`` (over the
training samples having it), so absent modalities take no part and each modality's total,
``w_m . (s_m(x_m) - s_m(mu_m))``, is exact.

* Binary tasks: ``s_m`` is the modality model's log-odds, linear in its features, so the
  margin is linear and each feature gets the exact linear SHAP value
  ``w_m * coef_f * (x_f - mu_f)`` (method ``linear_shap``).
* Multiclass tasks: ``s_m`` are log-probabilities (not linear); within a modality the
  features share its exact total by integrated gradients of ``w_m . s_m`` along the
  straight path from ``mu_m`` (analytic gradients, Gauss-Legendre points; method
  ``stack_integrated_gradients``; ``delta`` is the integration error).

A pattern without a combiner (too few training samples had it) averages its modalities'
probabilities, which has no such sum: those patients' present modalities are listed in
``not_attributed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from omnifuse.evaluation.documents.explanations import Method, PatientAttribution
from omnifuse.models.sklearn_stack import SEPARATOR, StackingBaseline
from omnifuse.training.fit import FittedModel
from omnifuse.trust.attributions.baselines import AttributionBaselines
from omnifuse.trust.attributions.common import class_name, output_name, targets
from omnifuse.trust.attributions.layout import flat_feature_layout, flat_values
from omnifuse.trust.attributions.sklearn import background_mean, flat_answer, margin_column

#: Integration points within a modality (multiclass tasks).
STACK_STEPS = 64


def explain_stack(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int | None,
    target: int | None,
    background: np.ndarray | AttributionBaselines | None,
) -> list[PatientAttribution]:
    """Attributions of an ``sk-stack`` model for dataset positions ``index`` (module docstring)."""
    model: StackingBaseline = fitted.model
    ds = fitted.context.dataset
    index = np.asarray(index, dtype=np.int64)
    flat = fitted.context.flat()
    x = flat[index].astype(np.float64)
    mu = background_mean(fitted, background, flat.shape[1], present=True)
    layout = flat_feature_layout(ds)
    raw = flat_values(ds, flat, index, fitted.context.scaler)
    probs = model.predict_proba(x)
    tgt = targets(torch.from_numpy(probs), ds.task, target).numpy()
    base, combiners = model.estimator["base"], model.estimator["combiners"]
    names = list(model.blocks)
    present = model._present(x) & np.array([n in base for n in names])[None, :]
    method: Method = "linear_shap" if ds.task == "binary" else "stack_integrated_gradients"
    answers = []
    for i, row in enumerate(index):
        k = int(tgt[i])
        subset = [names[j] for j in np.flatnonzero(present[i])]
        combiner = combiners.get(SEPARATOR.join(subset))
        phi = np.zeros(flat.shape[1])
        if combiner is None:  # the training prior or a mean of probabilities: no additive margin
            answer = flat_answer(ds, int(row), phi, raw[i], layout, 0.0, 0.0, k, top_k, method)
            p = float(np.log(max(probs[i, k], 1e-12)))
            unattributed = [m for m in ds.modalities if m not in answer.absent]
            answers.append(
                answer.model_copy(
                    update={
                        "score": p,
                        "baseline_score": p,
                        "output": output_name(ds, k) + " (no combiner for this availability pattern)",
                        "target": class_name(ds, k),
                        "modalities": {},
                        "not_attributed": unattributed,
                    }
                )
            )
            continue
        column, sign = margin_column(combiner, ds.task, k)
        coef = sign * np.atleast_2d(combiner.coef_)[column]
        score = base_score = sign * float(np.atleast_1d(combiner.intercept_)[column])
        width = model._score_width()
        for pos, name in enumerate(subset):
            start, stop = model.blocks[name]
            w = coef[pos * width : (pos + 1) * width]
            xm, mm = x[i, start:stop], mu[start:stop]
            at_x, at_mu = _weighted_scores(model, base[name], w, np.stack([xm, mm]))
            score += at_x
            base_score += at_mu
            if ds.task == "binary":
                phi[start:stop] = w[0] * base[name].coef_[0] * (xm - mm)
            else:
                phi[start:stop] = _integrated(model, base[name], w, xm, mm)
        answers.append(flat_answer(ds, int(row), phi, raw[i], layout, score, base_score, k, top_k, method))
    return answers


def _weighted_scores(model: StackingBaseline, estimator: Any, w: np.ndarray, xm: np.ndarray) -> np.ndarray:
    """``w . s_m(x)`` for each row of ``xm``."""
    return np.asarray(model._scores(estimator, xm), dtype=np.float64) @ w


def _integrated(model: StackingBaseline, estimator: Any, w: np.ndarray, x: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Integrated gradients of ``w . s_m`` from ``mu`` to ``x`` (multiclass log-probabilities)."""
    alphas, weights = _gauss_legendre(STACK_STEPS)
    points = mu[None, :] + alphas[:, None] * (x - mu)[None, :]
    classes = np.asarray(estimator.classes_, dtype=np.int64)
    wk = w[classes]  # classes the modality model never saw hold a constant score
    a = np.atleast_2d(estimator.coef_)
    b = np.atleast_1d(estimator.intercept_)
    if len(classes) == 2:  # a binary LogisticRegression: logits (0, z)
        a = np.vstack([np.zeros_like(a[0]), a[0]])
        b = np.array([0.0, float(b[0])])
    z = points @ a.T + b  # (n, K)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    dz = wk[None, :] - p * wk.sum()  # d(w . log_softmax(z)) / dz
    grads = dz @ a  # (n, F)
    return (x - mu) * (weights @ grads)


@lru_cache(maxsize=8)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and weights of the n-point Gauss-Legendre rule on [0, 1]."""
    points, weights = np.polynomial.legendre.leggauss(n)
    return (points + 1) / 2, weights / 2
