"""SHAP for the scikit-learn baselines on flat features (Lundberg & Lee, NeurIPS 2017).

``sk-hgb``: TreeExplainer (Lundberg et al., Nature Machine Intelligence 2020), exact tree
SHAP of the raw margin, baseline the trees' expected value. ``sk-logreg``: the exact linear
SHAP values with independent features, ``coef * (x - training mean)`` (what shap's
LinearExplainer computes), on the decision function (binary log-odds; multiclass the class's
linear logit). ``sk-stack``: :mod:`~omnifuse.trust.attributions.stack`.

Flat features are mapped back to their modality (:func:`flat_feature_layout`). The imputed
values standing in for absent modalities and the availability indicators are reported
together as ``availability_effect`` (how much the score moved because of which modalities
are there), not as modality entries.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents.explanations import Method, PatientAttribution
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.models.sklearn_stack import StackingBaseline
from omnifuse.training.fit import FittedModel
from omnifuse.trust.attributions.baselines import AttributionBaselines
from omnifuse.trust.attributions.common import (
    DEFAULT_TOP_K,
    Attributed,
    assemble,
    check_target,
    check_task,
    check_top_k,
    class_name,
    number,
    output_name,
    targets,
)
from omnifuse.trust.attributions.layout import flat_feature_layout, flat_values


def explain_sklearn(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int | None = DEFAULT_TOP_K,
    target: int | None = None,
    background: np.ndarray | AttributionBaselines | None = None,
) -> list[PatientAttribution]:
    """SHAP answers for a scikit-learn baseline (see the module docstring).

    ``background``: flat training features (or their mean, ``(F,)``), or stored
    :class:`AttributionBaselines`; default: the context's training rows (``sk-hgb`` needs
    none). ``target`` and ``top_k`` as in :func:`~omnifuse.trust.attributions.neural.explain_neural`.

    Raises:
        ConfigError: a baseline other than ``sk-logreg`` / ``sk-hgb`` / ``sk-stack``, or no
            training rows to take the mean from and no ``background``.
    """
    baseline: SklearnBaseline = fitted.model
    ds = fitted.context.dataset
    check_task(ds.task, fitted.name)
    check_target(target, ds)
    check_top_k(top_k)
    if isinstance(baseline, StackingBaseline):
        # deferred: import cycle: omnifuse.trust.attributions.stack imports helpers from this module
        from omnifuse.trust.attributions.stack import explain_stack

        return explain_stack(fitted, index, top_k=top_k, target=target, background=background)
    index = np.asarray(index, dtype=np.int64)
    flat = fitted.context.flat()
    x = flat[index].astype(np.float64)
    layout = flat_feature_layout(ds)
    if len(layout) != flat.shape[1]:
        raise ConfigError(f"flat features have {flat.shape[1]} columns, the layout {len(layout)}")
    probs = baseline.predict_proba(x)
    tgt = targets(torch.from_numpy(probs), ds.task, target).numpy()
    estimators = baseline.estimator if ds.task == "multilabel" else [baseline.estimator]
    kinds = {type(e) for e in estimators if not isinstance(e, float)}
    if not kinds <= {LogisticRegression, HistGradientBoostingClassifier}:
        raise ConfigError(
            f"attributions for model '{fitted.name}' are not supported "
            "(supported baselines: sk-logreg, sk-hgb, sk-stack)"
        )
    phi = np.zeros_like(x)
    score, base_score = np.zeros(len(x)), np.zeros(len(x))
    for k in np.unique(tgt):
        rows = tgt == k
        est = estimators[k] if ds.task == "multilabel" else estimators[0]
        if isinstance(est, float):  # a label constant in training: nothing moves it
            score[rows] = base_score[rows] = float(np.log(est + 1e-12) - np.log1p(-est + 1e-12))
            continue
        column, sign = margin_column(est, ds.task, int(k))
        if isinstance(est, LogisticRegression):
            mean = background_mean(fitted, background, flat.shape[1])
            coef, intercept = est.coef_[column], float(np.atleast_1d(est.intercept_)[column])
            phi[rows] = sign * coef * (x[rows] - mean)
            score[rows] = sign * (x[rows] @ coef + intercept)
            base_score[rows] = sign * (mean @ coef + intercept)
        else:
            values, expected = _tree_shap(est, x[rows], column)
            phi[rows] = sign * values
            base_score[rows] = sign * expected
            score[rows] = base_score[rows] + phi[rows].sum(axis=1)
    method: Method = "tree_shap" if HistGradientBoostingClassifier in kinds else "linear_shap" if kinds else "constant"
    raw = flat_values(ds, flat, index, fitted.context.scaler)
    return [
        flat_answer(
            ds, int(row), phi[i], raw[i], layout, float(score[i]), float(base_score[i]), int(tgt[i]), top_k, method
        )
        for i, row in enumerate(index)
    ]


def _tree_shap(estimator: Any, x: np.ndarray, column: int) -> tuple[np.ndarray, float]:
    explainer = _tree_explainer(estimator)
    values = np.asarray(explainer.shap_values(x))
    expected = np.atleast_1d(explainer.expected_value)
    if values.ndim == 3:  # (n, F, K) for multiclass margins
        values, expected = values[:, :, column], expected[column : column + 1]
    return values, float(expected[0])


#: shap's TreeExplainer per fitted estimator: building one converts every tree (about half a
#: second for 200 boosting rounds of 3 classes), explaining one patient takes a millisecond.
_TREE_EXPLAINERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _tree_explainer(estimator: Any) -> Any:
    explainer = _TREE_EXPLAINERS.get(estimator)
    if explainer is None:
        with warnings.catch_warnings():  # shap's colour maps use matplotlib calls it deprecates
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            import shap  # deferred: start-up time

        explainer = _TREE_EXPLAINERS[estimator] = shap.TreeExplainer(estimator)
    return explainer


def margin_column(estimator: Any, task: str, target: int) -> tuple[int, float]:
    """Which margin column of ``estimator`` explains class ``target`` and with which sign."""
    classes = [int(c) for c in estimator.classes_]
    if task == "multilabel":  # one binary estimator per label: its margin is the label's log-odds
        return 0, 1.0
    if len(classes) == 2:
        return 0, 1.0 if target == classes[1] else -1.0
    if target not in classes:
        raise ConfigError(f"class {target} was not in the training data of this baseline")
    return classes.index(target), 1.0


def background_mean(
    fitted: FittedModel, background: np.ndarray | AttributionBaselines | None, width: int, present: bool = False
) -> np.ndarray:
    """The ``(F,)`` training mean of the flat features (``present``: per column over the
    training rows having its modality, see :class:`AttributionBaselines`)."""
    if isinstance(background, AttributionBaselines):
        background = background.flat_present if present else background.flat
    if background is None:
        if not len(fitted.context.train):
            raise ConfigError(
                f"attributions of '{fitted.name}' need the training mean of its flat features: pass "
                "background=<the training fit>.context.flat()[train] (or its mean), or baselines stored "
                "with the model (a bundle saved before attribution baselines were stored: train it again)"
            )
        computed = AttributionBaselines.from_training(fitted)
        background = computed.flat_present if present else computed.flat
    b = np.asarray(background, dtype=np.float64)
    mean = b if b.ndim == 1 else b.mean(axis=0)
    if mean.shape != (width,):
        raise ConfigError(f"background has {mean.shape[0]} features, the model {width}")
    return mean


def flat_answer(
    ds: MultimodalDataset,
    row: int,
    phi: np.ndarray,
    raw: np.ndarray,
    layout: list[tuple[str | None, str]],
    score: float,
    base_score: float,
    target: int,
    top_k: int | None,
    method: Method,
) -> PatientAttribution:
    """One patient's answer from the attributions ``phi`` of its flat features (values ``raw``)."""
    present = {m for m, p in zip(ds.modalities, ds.mask[row]) if p}
    modalities: dict[str, Attributed] = {}
    availability = 0.0
    for (modality, feature), value, attribution in zip(layout, raw.tolist(), phi.tolist()):
        if modality is None or modality not in present:
            availability += attribution
            continue
        entry = modalities.setdefault(modality, Attributed())
        entry.features.append((feature, number(value), attribution))
        entry.total += attribution
    ordered = {m: modalities[m] for m in ds.modalities if m in modalities}
    return PatientAttribution(
        sample_id=str(ds.sample_ids[row]),
        method=method,
        target=class_name(ds, target),
        output=output_name(ds, target, linear=True),
        score=score,
        baseline_score=base_score,
        modalities=assemble(ordered, top_k),
        absent=[m for m in ds.modalities if m not in present],
        availability_effect=availability,
        delta=score - base_score - float(phi.sum()),
    )
