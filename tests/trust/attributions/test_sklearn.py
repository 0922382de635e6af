"""SHAP for the scikit-learn baselines: exact, mapped back to modalities, in the data's units."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.errors import ConfigError
from omnifuse.models.features import flat_features
from omnifuse.training.fit import fit
from omnifuse.trust.attributions import (
    AttributionBaselines,
    check_explainable,
    explain,
    explain_sklearn,
    flat_feature_layout,
    flat_values,
)

from ..conftest import PLANTED
from .helpers import check_answer


@pytest.mark.parametrize("name", ["sk-logreg", "sk-hgb"])
def test_sklearn_attributions_are_exact_and_find_the_planted_feature(planted, name):
    context, test = planted
    fitted = fit(name, context, {"model": {"max_iter": 60}} if name == "sk-hgb" else {})
    ds = context.dataset
    answers = explain_sklearn(fitted, test, top_k=3)
    est = fitted.model.estimator
    margin = est.decision_function(context.flat()[test])
    for row, a, m in zip(test, answers, margin):
        check_answer(a, ds, row)
        assert a.score == pytest.approx(m, rel=1e-5, abs=1e-5)  # the log-odds the classifier computes (float32 input)
        assert abs(a.delta) < 1e-6  # sum of attributions + availability effect = score - baseline
    assert {a.method for a in answers} == {"linear_shap" if name == "sk-logreg" else "tree_shap"}
    assert any(a.absent and a.availability_effect != 0.0 for a in answers)
    modality, feature = PLANTED
    assert np.mean([a.modalities[modality].features[0].name == feature for a in answers]) >= 0.9
    json.dumps([a.model_dump(mode="json") for a in answers], allow_nan=False)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_linear_contributions_equal_shap_linear_explainer(planted):
    import shap

    context, test = planted
    fitted = fit("sk-logreg", context)
    train = context.flat()[context.train]
    masker = shap.maskers.Independent(train, max_samples=len(train))
    reference = shap.LinearExplainer(fitted.model.estimator, masker).shap_values(context.flat()[test[:10]])
    layout = flat_feature_layout(context.dataset)
    a = explain_sklearn(fitted, test[:1], top_k=1000)[0]
    ours = {(m, f.name): f.attribution for m, ma in a.modalities.items() for f in ma.features}
    for j, key in enumerate(layout):
        if key in ours:
            assert ours[key] == pytest.approx(reference[0, j], rel=1e-5, abs=1e-7)  # shap computes in float32


def test_flat_layout_matches_the_feature_matrix(planted):
    context, _ = planted
    full = context.store.full
    width = flat_features(full["inputs"], full["mask"], context.dataset.modalities).shape[1]
    layout = flat_feature_layout(context.dataset)
    assert len(layout) == width
    assert layout[-3:] == [(None, "available:labs"), (None, "available:omics"), (None, "available:vitals")]
    assert ("vitals", "vitals_ch0 (mean)") in layout and ("labs", "labs_3") in layout


def test_flat_values_are_in_the_data_units(planted):
    """Vector columns as measured (NaN where absent); series summaries unstandardised."""
    context, test = planted
    ds = context.dataset
    rows = test[:20]
    values = flat_values(ds, context.flat(), rows, context.scaler)
    layout = flat_feature_layout(ds)
    column = layout.index(("labs", "labs_3"))
    np.testing.assert_allclose(values[:, column], ds.data["labs"][rows, 3], rtol=1e-5)
    j = ds.modalities.index("vitals")
    mean_col = layout.index(("vitals", "vitals_ch1 (mean)"))
    for r, v in zip(rows, values[:, mean_col]):
        series = ds.data["vitals"]
        observed = series.values[r, : series.lengths[r], 1]
        if not ds.mask[r, j] or np.isnan(observed).all():
            assert np.isnan(v)
        else:
            assert v == pytest.approx(float(np.nanmean(observed)), rel=1e-4)


def test_stored_background_explains_without_training_rows(planted):
    context, test = planted
    fitted = fit("sk-logreg", context)
    stored = AttributionBaselines.from_dict(
        json.loads(json.dumps(AttributionBaselines.from_training(fitted).to_dict()))
    )
    expected = explain(fitted, test[:5])
    on_new = fitted.on_samples(context.dataset.subset(test[:5]))
    with pytest.raises(ConfigError, match="training mean"):
        explain(on_new, np.arange(5))
    got = explain(on_new, np.arange(5), baselines=stored)
    for a, b in zip(expected, got):
        assert a.baseline_score == pytest.approx(b.baseline_score, rel=1e-9)
        assert a.modalities == b.modalities


def test_survival_and_unsupported_models_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="attributions for survival models .* not supported yet"):
        check_explainable(object(), "survival", "coxph")
    with pytest.raises(ConfigError, match="not supported"):
        check_explainable(type("Other", (), {"name": "sk-svm"})(), "binary", "sk-svm")
