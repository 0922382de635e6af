"""Answers with feature attributions: ``POST /predict`` with ``"explain": true``.

Each answer gains ``"explanation"``: per present modality its share of the total absolute
attribution, its signed total and its top features (name, the patient's value, signed
attribution) and, for time series, the top ``(channel, time window)`` cells; absent
modalities are listed in ``absent`` and get no attribution. The method is the one
``omnifuse explain`` uses (:mod:`omnifuse.trust.attributions`): integrated gradients from
the training mean for neural models (``SERVE_STEPS`` points, for latency; ``delta`` says
how far the integral is from exact), SHAP for the scikit-learn baselines.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.serving.answers import Predictor
from omnifuse.trust.attributions import DEFAULT_TOP_K, attribution_method, check_explainable, explain

#: Integration points of integrated gradients in the server (``omnifuse explain`` uses 128):
#: on OmniFuse (TCGA breast) 64 points leave a median relative error of 6e-4.
SERVE_STEPS = 64


class ExplainingPredictor(Predictor):
    """A :class:`Predictor` that can also explain its answers (one forward pass under the lock
    answers, the attributions follow under the same lock)."""

    def __init__(self, bundle: Any, n_steps: int = SERVE_STEPS) -> None:
        super().__init__(bundle)
        self.n_steps = int(n_steps)
        #: Why this model's answers cannot be explained (None: they can).
        self.explain_problem = explain_problem(bundle)

    def describe_attributions(self) -> str:
        """``GET /model``: how ``"explain": true`` is answered, or why it cannot be."""
        if self.explain_problem is not None:
            return f"not available: {self.explain_problem}"
        method = attribution_method(self.bundle.model, self.bundle.schema.task)
        if method == "integrated_gradients":
            return f"integrated gradients from the training mean ({self.n_steps} points)"
        return method.replace("_", " ")

    def explained_answers(
        self, dataset: MultimodalDataset, ids: Sequence[str | None] | None = None, top_k: int = DEFAULT_TOP_K
    ) -> list[dict[str, Any]]:
        """:meth:`answers` with each answer's ``"explanation"`` (see the module docstring).

        Raises:
            ConfigError: the model's answers cannot be explained (:attr:`explain_problem`).
        """
        if self.explain_problem is not None:
            raise ConfigError(self.explain_problem)
        fitted = self.bundle.fitted(dataset)
        index = np.arange(len(dataset))
        options = {"n_steps": self.n_steps} if fitted.is_neural else {}
        with self._lock:
            details = fitted.predict_details(index)
            attributions = explain(fitted, index, top_k=top_k, baselines=self.bundle.baselines, **options)
        answers = self.records(dataset, details, ids)  # the operating point and sets of plain answers
        for answer, a in zip(answers, attributions):
            answer["explanation"] = a.model_dump(mode="json", exclude={"sample_id", "modality_weights"})
        return answers


def explain_problem(bundle: Any) -> str | None:
    """Why ``bundle``'s answers cannot be explained, in one line (None: they can)."""
    try:
        check_explainable(bundle.model, bundle.schema.task, bundle.name)
    except ConfigError as exc:
        return str(exc)
    stored = bundle.baselines
    if isinstance(bundle.model, nn.Module):
        # a request's modalities are standardised kinds or embeddings (the others are absent)
        needed = [m for m, s in bundle.schema.specs.items() if s.kind == "embedding"]
        lacking = [m for m in needed if stored is None or m not in stored.modalities]
        if lacking:
            return (
                f"the bundle stores no attribution baseline for {', '.join(lacking)} "
                "(saved before attribution baselines were): train it again"
            )
    elif bundle.name != "sk-hgb" and (stored is None or stored.flat is None):
        return "the bundle stores no attribution baselines (saved before they were): train it again"
    return None
