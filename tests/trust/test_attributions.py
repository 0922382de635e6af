"""Feature attributions: completeness, absent modalities, a planted feature ranking first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.models.features import flat_features
from omnifuse.models.registry import get_model
from omnifuse.training.config import resolve_config
from omnifuse.training.fit import FittedModel, SplitContext, fit
from omnifuse.trust.attributions import (
    explain,
    explain_neural,
    explain_sklearn,
    flat_feature_layout,
    training_baselines,
)

from .conftest import PLANTED

TINY = {"embed_dim": 8, "head_hidden": 8, "batch_size": 64}
#: GRU-D (the default series encoder) steps through time in Python: an LSTM keeps tests fast
FAST_SERIES = {**TINY, "encoders": {"timeseries": {"type": "lstm", "hidden": 8}}}


def _untrained(name: str, context: SplitContext, **options) -> FittedModel:
    entry = get_model(name)
    cfg = resolve_config(entry, options or TINY)
    torch.manual_seed(0)
    return FittedModel(name, entry.build(context.dataset, cfg.model), cfg, context, 0.0)


def _check_answer(answer, ds, row):
    present = [m for m, p in zip(ds.modalities, ds.mask[row]) if p]
    assert answer.absent == [m for m in ds.modalities if m not in present]
    assert list(answer.modalities) == [m for m in present if m in answer.modalities]
    assert not set(answer.absent) & set(answer.modalities)  # absent: omitted, never a zero entry
    shares = [m.share for m in answer.modalities.values()]
    assert sum(shares) == pytest.approx(1.0) or sum(shares) == 0.0


@pytest.mark.parametrize(
    "name, options",
    [("concat", TINY), ("attention", FAST_SERIES), ("early", TINY), ("gmu", FAST_SERIES)],
    ids=["concat-grud", "attention", "early", "gmu"],
)
def test_integrated_gradients_are_complete(planted, name, options):
    """sum(attributions) = f(x) - f(baseline) for a fusion model at random initialisation
    (GRU-D series encoder for concat, LSTM for the others)."""
    context, test = planted
    fitted = _untrained(name, context, **options)
    ds = context.dataset
    complete = ds.mask[test].all(axis=1)
    rows = np.r_[test[complete][:3], test[~complete][:3]]
    answers = explain_neural(fitted, rows, n_steps=64, top_k=50)
    assert {bool(a.absent) for a in answers} == {True, False}  # both complete and partial patients
    for row, a in zip(rows, answers):
        _check_answer(a, ds, row)
        moved = a.score - a.baseline_score
        total = sum(m.total for m in a.modalities.values())
        assert abs(a.delta) <= 1e-3 * max(1.0, abs(moved)), (a.sample_id, a.delta, moved)
        assert total == pytest.approx(moved, abs=1e-3 * max(1.0, abs(moved)))
        assert a.availability_effect == 0.0 and a.method == "integrated_gradients"
        assert a.output == "log-odds of class 1"
    probs = fitted.predict_proba(rows)
    scores = np.log(probs[:, 1]) - np.log(probs[:, 0])
    np.testing.assert_allclose([a.score for a in answers], scores, rtol=1e-4, atol=1e-4)


def test_time_series_attributions_per_channel_and_window(planted):
    context, test = planted
    fitted = _untrained("concat", context, **FAST_SERIES)
    ds = context.dataset
    j = ds.modalities.index("vitals")
    rows = test[ds.mask[test, j]][:4]
    for a in explain_neural(fitted, rows, top_k=1000, window=12.0):
        vitals = a.modalities["vitals"]
        channels = {f.name: f.attribution for f in vitals.features}
        assert set(channels) <= set(ds.specs["vitals"].feature_names)
        by_channel: dict[str, float] = {}
        for w in vitals.windows:
            assert w.end - w.start == 12.0 and w.start % 12.0 == 0.0
            by_channel[w.channel] = by_channel.get(w.channel, 0.0) + w.attribution
        for c, value in channels.items():
            assert by_channel[c] == pytest.approx(value, rel=1e-5, abs=1e-9)
        assert vitals.total == pytest.approx(sum(channels.values()), rel=1e-5, abs=1e-9)


def test_multiclass_completeness_on_log_probabilities():
    mods = (SimModality("a", "tabular", 5, 0.8), SimModality("b", "omics", 4, 0.5, missing_rate=0.4))
    ds, _ = make_lowquality(mods, n_samples=120, n_classes=3, seed=1)
    context = SplitContext(ds, np.arange(80), np.arange(80, 100))
    fitted = _untrained("concat", context)
    rows = np.arange(100, 120)
    answers = explain_neural(fitted, rows, n_steps=128)
    probs = fitted.predict_proba(rows)
    for row, a, p in zip(rows, answers, probs):
        assert a.target == str(int(p.argmax())) and a.output.startswith("log-probability of class")
        assert a.score == pytest.approx(float(np.log(p.max())), abs=1e-4)
        assert abs(a.delta) <= 1e-3 * max(1.0, abs(a.score - a.baseline_score))
    fixed = explain_neural(fitted, rows[:2], target=0)
    assert {a.target for a in fixed} == {"0"}
    with pytest.raises(ConfigError, match="not a class index"):
        explain_neural(fitted, rows[:2], target=3)


def test_planted_feature_ranks_first_after_a_short_fit(planted):
    context, test = planted
    fitted = fit("concat", context, {**FAST_SERIES, "max_epochs": 8, "monitor": "val_loss", "lr": 5e-3})
    answers = explain(fitted, test[:40], top_k=1)
    modality, feature = PLANTED
    top = [a.modalities[modality].features[0].name for a in answers]
    assert np.mean([t == feature for t in top]) >= 0.8
    shares = {
        m: np.mean([a.modalities[m].share for a in answers if m in a.modalities]) for m in context.dataset.modalities
    }
    assert max(shares, key=shares.get) == modality


@pytest.mark.parametrize("name", ["sk-logreg", "sk-hgb"])
def test_sklearn_attributions_are_exact_and_find_the_planted_feature(planted, name):
    context, test = planted
    fitted = fit(name, context, {"model": {"max_iter": 60}} if name == "sk-hgb" else {})
    ds = context.dataset
    answers = explain_sklearn(fitted, test, top_k=3)
    est = fitted.model.estimator
    margin = est.decision_function(context.flat()[test])
    for row, a, m in zip(test, answers, margin):
        _check_answer(a, ds, row)
        assert a.score == pytest.approx(m, rel=1e-5, abs=1e-5)  # the log-odds the classifier computes (float32 input)
        assert abs(a.delta) < 1e-6  # sum of attributions + availability effect = score - baseline
    assert {a.method for a in answers} == {"linear_shap" if name == "sk-logreg" else "tree_shap"}
    assert any(a.absent and a.availability_effect != 0.0 for a in answers)
    modality, feature = PLANTED
    assert np.mean([a.modalities[modality].features[0].name == feature for a in answers]) >= 0.9
    json.dumps([a.to_dict() for a in answers], allow_nan=False)


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


def test_embedding_baseline_is_the_training_mean_and_needs_training_rows():
    mods = (SimModality("ehr", "tabular", 4, 0.8), SimModality("notes", "embedding", 6, 0.5, missing_rate=0.3))
    ds, _ = make_lowquality(mods, n_samples=100, seed=2)
    notes = ds.data["notes"].copy()
    notes[:, 0] += 5.0  # embeddings are not standardised: their mean is not 0
    ds = ds.replace(data={**ds.data, "notes": notes})
    context = SplitContext(ds, np.arange(70), np.arange(70, 85))
    fitted = _untrained("concat", context)
    base = training_baselines(fitted)
    assert np.all(base["ehr"] == 0.0)
    present = ds.mask[:70, ds.modalities.index("notes")]
    np.testing.assert_allclose(base["notes"], np.nanmean(notes[:70][present], axis=0), rtol=1e-5)
    on_new = fitted.on_samples(ds.subset(np.arange(85, 100)))
    with pytest.raises(ConfigError, match="pass baselines="):
        explain_neural(on_new, [0])
    answers = explain_neural(on_new, np.arange(15), baselines=base, n_steps=64)
    assert all(abs(a.delta) <= 1e-3 * max(1.0, abs(a.score - a.baseline_score)) for a in answers)


def test_unsupported_baseline_is_a_config_error(planted):
    context, test = planted
    fitted = fit("sk-stack", context)
    with pytest.raises(ConfigError, match="not supported"):
        explain(fitted, test[:2])
