"""sk-stack: additive over present modalities, exact on binary tasks."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.training.fit import SplitContext, fit
from omnifuse.trust.attributions import explain

from ..conftest import PLANTED
from .helpers import check_answer, is_complete


def test_binary_stack_is_linear_shap_and_finds_the_planted_feature(planted):
    context, test = planted
    fitted = fit("sk-stack", context)
    ds = context.dataset
    answers = explain(fitted, test, top_k=3)
    probs = fitted.predict_proba(test)
    for row, a, p in zip(test, answers, probs):
        check_answer(a, ds, row)
        assert a.method == "linear_shap" and a.availability_effect == 0.0
        assert abs(a.delta) < 1e-8  # exact
        assert 1 / (1 + np.exp(-a.score)) == pytest.approx(p[1], abs=1e-6)  # the combiner's log-odds
    modality, feature = PLANTED
    assert np.mean([a.modalities[modality].features[0].name == feature for a in answers]) >= 0.9


def test_multiclass_stack_scores_are_the_combiner_margins():
    mods = (
        SimModality("a", "tabular", 5, 0.8),
        SimModality("b", "omics", 4, 0.6, missing_rate=0.3),
        SimModality("c", "tabular", 3, 0.3, missing_rate=0.3),
    )
    ds, _ = make_lowquality(mods, n_samples=300, n_classes=3, seed=4)
    context = SplitContext(ds, np.arange(240), np.arange(240, 260))
    fitted = fit("sk-stack", context)
    rows = np.arange(260, 300)
    per_class = [explain(fitted, rows, target=k) for k in range(3)]
    margins = np.array([[a.score for a in answers] for answers in per_class]).T
    softmax = np.exp(margins - margins.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, fitted.predict_proba(rows), atol=1e-6)
    for answers in per_class:
        for row, a in zip(rows, answers):
            check_answer(a, ds, row)
            assert a.method == "stack_integrated_gradients" and is_complete(a, rel=1e-4)
