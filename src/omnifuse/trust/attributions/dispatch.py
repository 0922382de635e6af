"""One entry point for every model: integrated gradients or SHAP, whichever fits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents.explanations import Method, PatientAttribution
from omnifuse.training.fit import FittedModel
from omnifuse.trust.attributions.baselines import AttributionBaselines
from omnifuse.trust.attributions.common import DEFAULT_TOP_K, check_task
from omnifuse.trust.attributions.neural import explain_neural
from omnifuse.trust.attributions.sklearn import explain_sklearn

#: The scikit-learn baselines attributions support.
SKLEARN_SUPPORTED = ("sk-logreg", "sk-hgb", "sk-stack")


def explain(
    fitted: FittedModel,
    index: Sequence[int] | np.ndarray,
    top_k: int | None = DEFAULT_TOP_K,
    target: int | None = None,
    baselines: AttributionBaselines | None = None,
    **options: Any,
) -> list[PatientAttribution]:
    """Attributions for dataset positions ``index`` of ``fitted.context.dataset``:
    :func:`explain_neural` or :func:`explain_sklearn`, whichever fits the model.

    ``baselines``: the model's stored training means (needed when ``fitted`` has no training
    rows, e.g. a loaded bundle, for embeddings and ``sk-logreg`` / ``sk-stack``); other
    ``options`` go to the method (``n_steps``, ``window``, ``chunk`` for neural models).
    """
    check_explainable(fitted.model, fitted.context.dataset.task, fitted.name)
    if fitted.is_neural:
        return explain_neural(fitted, index, top_k=top_k, target=target, baselines=baselines, **options)
    return explain_sklearn(fitted, index, top_k=top_k, target=target, background=baselines, **options)


def check_explainable(model: Any, task: str, name: str) -> None:
    """Refuse, in one line, a model attributions do not support (before any work is done).

    Raises:
        ConfigError: a task other than classification (survival), a sequence-to-sequence
            model, or a scikit-learn model other than :data:`SKLEARN_SUPPORTED`.
    """
    check_task(task, name)
    if getattr(model, "sequence_length", None):
        raise ConfigError(f"attributions for sequence models ('{name}') are not supported yet")
    if not isinstance(model, nn.Module) and getattr(model, "name", name) not in SKLEARN_SUPPORTED:
        raise ConfigError(
            f"attributions for model '{name}' are not supported (supported baselines: {', '.join(SKLEARN_SUPPORTED)})"
        )


def attribution_method(model: Any, task: str) -> Method:
    """The method that explains ``model``."""
    if isinstance(model, nn.Module):
        return "integrated_gradients"
    name = getattr(model, "name", "")
    if name == "sk-hgb":
        return "tree_shap"
    if name == "sk-stack" and task != "binary":
        return "stack_integrated_gradients"
    return "linear_shap"
