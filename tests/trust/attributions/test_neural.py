"""Integrated gradients: completeness, absent modalities, series windows, a planted feature ranking first."""

from __future__ import annotations


import numpy as np
import pytest

from omnifuse.data.labels import Labels
from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.training.fit import SplitContext, fit
from omnifuse.trust.attributions import AttributionBaselines, explain, explain_neural, training_baselines

from ..conftest import PLANTED
from .helpers import FAST_SERIES, TINY, check_answer, is_complete, untrained


@pytest.mark.parametrize(
    "name, options",
    [("concat", TINY), ("attention", FAST_SERIES), ("early", TINY), ("gmu", FAST_SERIES), ("omnifuse", FAST_SERIES)],
    ids=["concat-grud", "attention", "early", "gmu", "omnifuse"],
)
def test_integrated_gradients_are_complete(planted, name, options):
    """sum(attributions) = f(x) - f(baseline) for a fusion model at random initialisation
    (GRU-D series encoder for concat, LSTM for the others)."""
    context, test = planted
    fitted = untrained(name, context, **options)
    ds = context.dataset
    complete = ds.mask[test].all(axis=1)
    rows = np.r_[test[complete][:3], test[~complete][:3]]
    answers = explain_neural(fitted, rows, n_steps=64, top_k=50)
    assert {bool(a.absent) for a in answers} == {True, False}  # both complete and partial patients
    for row, a in zip(rows, answers):
        check_answer(a, ds, row)
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
    fitted = untrained("concat", context, **FAST_SERIES)
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
    fitted = untrained("concat", context)
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


@pytest.mark.parametrize("name", ["concat", "omnifuse"])
def test_planted_feature_ranks_first_after_a_short_fit(planted, name):
    context, test = planted
    fitted = fit(name, context, {**FAST_SERIES, "max_epochs": 8, "monitor": "val_loss", "lr": 5e-3})
    answers = explain(fitted, test[:40], top_k=1)
    modality, feature = PLANTED
    top = [a.modalities[modality].features[0].name for a in answers]
    assert np.mean([t == feature for t in top]) >= 0.8
    shares = {
        m: np.mean([a.modalities[m].share for a in answers if m in a.modalities]) for m in context.dataset.modalities
    }
    assert max(shares, key=shares.get) == modality


def test_embedding_baseline_is_the_training_mean_and_needs_training_rows():
    mods = (SimModality("ehr", "tabular", 4, 0.8), SimModality("notes", "embedding", 6, 0.5, missing_rate=0.3))
    ds, _ = make_lowquality(mods, n_samples=100, seed=2)
    notes = ds.data["notes"].copy()
    notes[:, 0] += 5.0  # embeddings are not standardised: their mean is not 0
    ds = ds.replace(data={**ds.data, "notes": notes})
    context = SplitContext(ds, np.arange(70), np.arange(70, 85))
    fitted = untrained("concat", context)
    base = training_baselines(fitted)
    assert np.all(base["ehr"] == 0.0)
    present = ds.mask[:70, ds.modalities.index("notes")]
    np.testing.assert_allclose(base["notes"], np.nanmean(notes[:70][present], axis=0), rtol=1e-5)
    on_new = fitted.on_samples(ds.subset(np.arange(85, 100)))
    with pytest.raises(ConfigError, match="pass baselines="):
        explain_neural(on_new, [0])
    answers = explain_neural(on_new, np.arange(15), baselines=base, n_steps=64)
    assert all(abs(a.delta) <= 1e-3 * max(1.0, abs(a.score - a.baseline_score)) for a in answers)


def test_values_are_the_patients_raw_values(planted):
    """Vector features carry the value as measured; a series channel the mean of its
    observed values, a window the mean of those inside it."""
    context, test = planted
    fitted = untrained("concat", context, **FAST_SERIES)
    ds = context.dataset
    j = ds.modalities.index("vitals")
    rows = test[ds.mask[test, j]][:3]
    for row, a in zip(rows, explain_neural(fitted, rows, top_k=None, window=12.0)):
        for f in a.modalities["labs"].features:
            k = ds.specs["labs"].feature_names.index(f.name)
            assert f.value == pytest.approx(float(ds.data["labs"][row, k]), rel=1e-6)
        series = ds.data["vitals"]
        n = int(series.lengths[row])
        values, times = series.values[row, :n], series.times[row, :n]
        for f in a.modalities["vitals"].features:
            c = ds.specs["vitals"].feature_names.index(f.name)
            assert f.value == pytest.approx(float(np.nanmean(values[:, c])), rel=1e-5)
        for w in a.modalities["vitals"].windows:
            c = ds.specs["vitals"].feature_names.index(w.channel)
            inside = (times >= w.start) & (times < w.end) & ~np.isnan(values[:, c])
            assert inside.any() and w.value == pytest.approx(float(values[inside, c].mean()), rel=1e-5)


def test_stored_baselines_explain_a_model_without_training_rows():
    """A bundle has no training rows: the embedding's training mean travels in
    AttributionBaselines (to_dict / from_dict) and gives the same answers."""
    mods = (SimModality("ehr", "tabular", 4, 0.8), SimModality("notes", "embedding", 6, 0.5, missing_rate=0.3))
    ds, _ = make_lowquality(mods, n_samples=100, seed=2)
    notes = ds.data["notes"].copy()
    notes[:, 0] += 5.0
    ds = ds.replace(data={**ds.data, "notes": notes})
    fitted = untrained("concat", SplitContext(ds, np.arange(70), np.arange(70, 85)))
    stored = AttributionBaselines.from_dict(AttributionBaselines.from_training(fitted).to_dict())
    assert set(stored.modalities) == {"notes"} and stored.flat is None  # standardised kinds need nothing stored
    rows = np.arange(85, 100)
    expected = explain_neural(fitted, rows, n_steps=32)
    on_new = fitted.on_samples(ds.subset(rows))
    got = explain(on_new, np.arange(len(rows)), n_steps=32, baselines=stored)
    for a, b in zip(expected, got):
        assert a.modalities.keys() == b.modalities.keys()
        assert a.baseline_score == pytest.approx(b.baseline_score, abs=1e-5)
        for m in a.modalities:
            assert a.modalities[m].total == pytest.approx(b.modalities[m].total, abs=1e-5)


def test_multilabel_completeness_on_label_log_odds():
    mods = (SimModality("a", "tabular", 5, 0.8), SimModality("b", "omics", 4, 0.5, missing_rate=0.4))
    ds, _ = make_lowquality(mods, n_samples=120, n_classes=3, seed=3)
    y = np.eye(3, dtype=np.uint8)[ds.y]
    y[::4, 0] = 1  # some samples with two labels
    ds = ds.replace(labels=Labels("multilabel", y, ds.class_names))
    fitted = untrained("concat", SplitContext(ds, np.arange(80), np.arange(80, 100)))
    rows = np.arange(100, 120)
    answers = explain_neural(fitted, rows, n_steps=64)
    probs = fitted.predict_proba(rows)
    for row, a, p in zip(rows, answers, probs):
        check_answer(a, ds, row)
        k = int(p.argmax())
        assert a.target == ds.class_names[k] and a.output.startswith("log-odds of label")
        assert a.score == pytest.approx(float(np.log(p[k]) - np.log1p(-p[k])), abs=1e-4)
        assert is_complete(a)


def test_a_model_producing_nan_is_a_one_line_error(planted):
    context, test = planted
    fitted = untrained("concat", context)
    for p in fitted.model.parameters():
        p.data.fill_(float("nan"))
    with pytest.raises(ConfigError, match="non-finite scores or gradients for sample"):
        explain_neural(fitted, test[:2], n_steps=8)
