"""Tests of the low-quality cohort simulator: contract, missingness, signal, synergy."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from omnifuse.data.arrays import IrregularSeries
from omnifuse.data.simulate import (
    SimConfig,
    SimModality,
    default_cohort,
    default_modalities,
    make_lowquality,
)
from omnifuse.errors import ConfigError

MIXED = [
    SimModality("tab", "tabular", 12, 0.8, missing_rate=0.2),
    SimModality("omx", "omics", 40, 0.5, "structured", missing_rate=0.2),
    SimModality("emb", "embedding", 16, 0.2, "heavy_tailed", missing_rate=0.2),
    SimModality("ts", "timeseries", 5, 0.6, missing_rate=0.2),
]


def _cv_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(cross_val_score(model, x, y, cv=5, scoring="accuracy").mean())


def _assert_same(a, b) -> None:
    if isinstance(a, IrregularSeries):
        for x, y in ((a.values, b.values), (a.times, b.times), (a.lengths, b.lengths)):
            np.testing.assert_array_equal(x, y)
    else:
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_cohort_other_seed_differs():
    a, ta = make_lowquality(MIXED, n_samples=300, seed=7, test_fraction=0.3)
    b, tb = make_lowquality(MIXED, n_samples=300, seed=7, test_fraction=0.3)
    c, _ = make_lowquality(MIXED, n_samples=300, seed=8, test_fraction=0.3)
    for m in a.modalities:
        _assert_same(a.data[m], b.data[m])
    np.testing.assert_array_equal(a.mask, b.mask)
    np.testing.assert_array_equal(a.y, b.y)
    np.testing.assert_array_equal(a.splits, b.splits)
    assert ta.to_dict() == tb.to_dict()
    assert not np.array_equal(a.data["tab"], c.data["tab"], equal_nan=True)
    assert not np.array_equal(a.mask, c.mask)


def test_shapes_kinds_and_absent_rows_blank():
    ds, truth = make_lowquality(MIXED, n_samples=400, n_classes=3, seed=1)
    assert ds.modalities == ("emb", "omx", "tab", "ts")
    assert ds.task == "multiclass" and ds.class_names == ("0", "1", "2")
    assert {m: ds.specs[m].kind for m in ds.modalities} == {
        "tab": "tabular",
        "omx": "omics",
        "emb": "embedding",
        "ts": "timeseries",
    }
    assert ds.data["tab"].shape == (400, 12) and ds.data["tab"].dtype == np.float32
    assert ds.data["omx"].shape == (400, 40)
    ts = ds.data["ts"]
    assert isinstance(ts, IrregularSeries) and ts.values.shape == (400, 30, 5)
    assert ds.specs["ts"].time_unit == "hours" and ds.specs["ts"].shape == (30, 5)
    present = ds.availability("ts")
    lengths = ts.lengths[present]
    assert lengths.min() >= 10 and lengths.max() <= 30
    times = ts.times[present]
    real = ts.step_mask[present]
    assert np.all(times[real] >= 0) and np.all(times[real] <= 48)
    assert np.all(np.diff(np.where(real, times, 49.0), axis=1) >= 0)  # sorted, padding last
    assert np.isnan(ts.values[present][~real]).all()  # padding unobserved
    per_sample_channel = ts.observed[present].sum(axis=1) / lengths[:, None]
    assert 0.45 < per_sample_channel.mean() < 0.65  # 30-80 % observed on average
    assert ts.observed[present].any(axis=(1, 2)).all()
    for m in ds.modalities:
        values = ds.data[m].values if m == "ts" else ds.data[m]
        absent = ~ds.availability(m)
        assert absent.any() and np.isnan(values[absent]).all()
        assert not np.isnan(values[~absent]).all(axis=tuple(range(1, values.ndim))).any()
    assert set(truth.modalities) == set(ds.modalities)
    json.dumps(truth.to_dict(per_sample=True))  # JSON-serialisable


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), rate=st.floats(0.0, 1.0), n_mod=st.integers(1, 5))
def test_never_a_sample_without_modality(seed, rate, n_mod):
    mods = [SimModality(f"m{i}", n_features=3, missing_rate=rate) for i in range(n_mod)]
    ds, _ = make_lowquality(mods, n_samples=60, seed=seed)
    assert ds.mask.any(axis=1).all()


def test_realised_mcar_rate_matches_request():
    mods = [SimModality("a", missing_rate=0.3), SimModality("b", missing_rate=0.1), SimModality("c", missing_rate=0.0)]
    ds, truth = make_lowquality(mods, n_samples=5000, seed=3)
    realised = 1 - ds.mask.mean(axis=0)
    assert realised == pytest.approx([0.3, 0.1, 0.0], abs=0.025)
    assert truth.missing_rates == pytest.approx(dict(zip(ds.modalities, realised)))
    assert truth.missingness == {"a": "mcar", "b": "mcar", "c": "mcar"}


def test_mnar_by_label_differs_between_classes():
    mods = [SimModality("a", missing_rate=0.3, mnar="label", mnar_strength=0.4), SimModality("b")]
    ds, _ = make_lowquality(mods, n_samples=4000, seed=4)
    absent = ~ds.availability("a")
    rate0, rate1 = absent[ds.y == 0].mean(), absent[ds.y == 1].mean()
    assert rate1 - rate0 == pytest.approx(0.4, abs=0.06)
    assert absent.mean() == pytest.approx(0.3, abs=0.03)


def test_mnar_by_severity_rises_with_severity():
    mods = [SimModality("a", missing_rate=0.4, mnar="severity", mnar_strength=0.6), SimModality("b")]
    ds, truth = make_lowquality(mods, n_samples=4000, seed=5)
    absent = ~ds.availability("a")
    low, high = truth.severity < np.quantile(truth.severity, 0.25), truth.severity > np.quantile(truth.severity, 0.75)
    assert absent[high].mean() - absent[low].mean() > 0.3


@pytest.mark.parametrize("n_mod", [3, 4])
def test_patterns_cover_every_non_empty_subset(n_mod):
    ds, _ = make_lowquality(n_mod, n_samples=300, patterns=True, pattern_share=0.2, seed=6)
    counts = ds.pattern_counts()
    assert len(counts) == 2**n_mod - 1 and "(none)" not in counts
    assert counts["+".join(ds.modalities)] > 0


def test_patterns_need_enough_samples():
    with pytest.raises(ConfigError, match="patterns"):
        make_lowquality(5, n_samples=20, patterns=True)


def test_informative_modality_beats_lazy_modality():
    mods = [
        SimModality("strong", n_features=16, informativeness=0.9),
        SimModality("lazy", n_features=16, informativeness=0.05),
    ]
    ds, truth = make_lowquality(mods, n_samples=1000, seed=11)
    acc = {m: _cv_accuracy(np.nan_to_num(ds.data[m]), ds.y) for m in ds.modalities}
    assert acc["strong"] > 0.85
    assert acc["strong"] - acc["lazy"] > 0.25
    assert truth.lazy_modalities == ("lazy",) and truth.lazy_combination == ("lazy",)
    assert truth.signal == {"lazy": False, "strong": True}


def test_overwhelming_noise_hides_signal_and_marks_lazy():
    mods = [
        SimModality("clean", n_features=24, informativeness=0.7),
        SimModality("buried", n_features=24, informativeness=0.7, noise="overwhelming"),
    ]
    ds, truth = make_lowquality(mods, n_samples=1000, seed=12)
    acc = {m: _cv_accuracy(ds.data[m], ds.y) for m in ds.modalities}
    assert acc["clean"] - acc["buried"] > 0.15
    assert truth.lazy_modalities == ("buried",)


def test_synergy_pair_is_chance_alone_and_informative_jointly():
    mods = [SimModality("a", n_features=6, informativeness=0.0), SimModality("b", n_features=6, informativeness=0.0)]
    ds, truth = make_lowquality(mods, n_samples=1500, synergy=[("a", "b")], seed=13)
    assert ds.data["a"].shape == (1500, 8)  # 6 base features + a one-hot block of 2 classes
    xa, xb = ds.data["a"], ds.data["b"]
    alone = {"a": _cv_accuracy(xa, ds.y), "b": _cv_accuracy(xb, ds.y)}
    assert all(0.4 < acc < 0.6 for acc in alone.values()), alone
    block_a, block_b = xa[:, truth.synergy_features["a"]], xb[:, truth.synergy_features["b"]]
    products = (block_a[:, :, None] * block_b[:, None, :]).reshape(len(xa), -1)
    joint = _cv_accuracy(np.concatenate([xa, xb, products], axis=1), ds.y)
    assert joint > 0.8
    assert truth.combination_signal == {"a": False, "b": False, "a+b": True}


def test_class_weights_splits_and_patients():
    ds, _ = make_lowquality(
        3, n_samples=600, class_weights=(0.8, 0.2), test_fraction=0.25, samples_per_patient=3, seed=14
    )
    assert np.bincount(ds.y).tolist() == [480, 120]
    assert len(np.unique(ds.groups)) == 200
    for g in np.unique(ds.groups):
        rows = ds.groups == g
        assert len(set(ds.y[rows])) == 1 and len(set(ds.splits[rows])) == 1  # no leak
    test = ds.split_indices("test")
    assert len(test) / len(ds) == pytest.approx(0.25, abs=0.02)
    assert ds.y[test].mean() == pytest.approx(0.2, abs=0.03)  # stratified


def test_default_modalities_and_cohorts():
    mods = default_modalities(5)
    assert mods[0].informativeness == max(m.informativeness for m in mods)
    assert [m.is_lazy for m in mods] == [False, False, False, True, True]
    ds3, t3 = default_cohort(3, seed=0)
    assert ds3.modalities == ("ehr", "notes", "vitals") and t3.lazy_combination == ("notes",)
    assert len(ds3.pattern_counts()) == 7
    ds5, t5 = default_cohort(5, seed=0)
    assert len(ds5.modalities) == 5 and len(ds5.pattern_counts()) == 31
    assert t5.synergy == (("mrna", "protein"),) and t5.lazy_combination == ("notes", "protein")
    assert set(t5.missingness.values()) >= {"mcar", "mnar_label", "mnar_severity"}
    again, _ = default_cohort(5, seed=0)
    np.testing.assert_array_equal(again.mask, ds5.mask)
    ds4, t4 = default_cohort(4, seed=0)  # any other M: default modalities, MNAR, patterns
    assert len(ds4.pattern_counts()) == 15 and t4.lazy_combination == ("m3",)
    assert set(t4.missingness.values()) == {"mcar", "mnar_label", "mnar_severity"}
    assert default_cohort(1, n_samples=50)[0].mask.all()
    with pytest.raises(ConfigError, match="modalities"):
        default_cohort(0)


def test_fast_enough():
    make_lowquality(5, n_samples=100)  # warm-up
    start = time.perf_counter()
    mods = [
        SimModality(f"m{i}", kind, informativeness=0.5, missing_rate=0.2)
        for i, kind in enumerate(["tabular", "omics", "embedding", "timeseries", "tabular"])
    ]
    make_lowquality(mods, n_samples=1000, patterns=True, synergy=[("m0", "m1")], seed=0)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(modalities=[SimModality("a", informativeness=0.5)], synergy=[("a", "zz")]), "synergy"),
        (dict(modalities=2, class_weights=(1.0,)), "class_weights"),
        (dict(modalities=2, test_fraction=1.5), "test_fraction"),
        (dict(modalities=2, n_classes=1), "n_classes"),
        (dict(modalities=[SimModality("a"), SimModality("a")]), "unique"),
        (dict(modalities=[SimModality("a"), SimModality("t", "timeseries")], synergy=[("a", "t")]), "timeseries"),
        (dict(modalities=2, task="cox"), "unknown task 'cox'"),
        (dict(modalities=2, task="survival", censored_share=0.95), "censored_share"),
        (dict(modalities=2, task="survival", weibull_shape=0), "weibull_shape"),
        (dict(modalities=2, task="survival", median_time=-1), "median_time"),
        (dict(modalities=2, task="survival", risk_strength=-1), "risk_strength"),
    ],
)
def test_config_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field) as exc:
        SimConfig(**kwargs)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(informativeness=1.5), "informativeness"),
        (dict(noise="pink"), "noise"),
        (dict(kind="image"), "kind"),
        (dict(missing_rate=-0.1), "missing_rate"),
        (dict(mnar="x"), "mnar"),
    ],
)
def test_modality_errors_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        SimModality("a", **kwargs)


def test_no_warnings_when_generating():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_lowquality(MIXED, n_samples=200, patterns=True, seed=2)
