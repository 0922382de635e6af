"""The simulator's survival task: censored Weibull times driven by the latent class signal."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_predict

from omnifuse.data.simulate import SimConfig, SimModality, default_cohort, make_lowquality
from omnifuse.survival import harrell_c

MIXED = [
    SimModality("tab", "tabular", 12, 0.9, missing_rate=0.2, mnar="label", mnar_strength=0.3),
    SimModality("omx", "omics", 40, 0.5, "structured", missing_rate=0.2, mnar="severity", mnar_strength=0.3),
    SimModality("emb", "embedding", 16, 0.1, "heavy_tailed", missing_rate=0.2),
    SimModality("ts", "timeseries", 5, 0.6, missing_rate=0.2),
]


def test_survival_cohort_labels_and_truth():
    ds, truth = make_lowquality(MIXED, n_samples=800, task="survival", seed=3)
    assert ds.task == "survival" and ds.class_names == () and ds.labels.time_unit == "days"
    counts = ds.labels.counts()
    assert counts["censored"] / len(ds) == pytest.approx(0.4, abs=0.002)  # calibrated, not just on average
    assert np.all(ds.labels.time >= 0)
    surv = truth.survival
    assert surv["distribution"] == "exponential" and surv["weibull_shape"] == 1.0 and surv["censoring"] == "uniform"
    assert surv["baseline_scale"] == pytest.approx(np.log(2) / 1000.0)
    assert surv["censored_share"] == pytest.approx(counts["censored"] / len(ds))
    assert truth.risk.shape == (800,) and truth.risk.std() == pytest.approx(1.0, rel=1e-6)
    # the true risk ranks the outcomes; censoring stays below c_max
    assert harrell_c(ds.labels.time, ds.labels.event, truth.risk) > 0.68
    assert np.all(ds.labels.time[~ds.labels.event] <= surv["censoring_max"])
    full = truth.to_dict(per_sample=True)
    assert len(full["risk"]) == 800 and full["config"]["task"] == "survival"
    json.dumps(full)


def test_same_seed_same_survival_cohort_and_classification_streams_unchanged():
    a, ta = make_lowquality(MIXED, n_samples=300, task="survival", seed=7)
    b, tb = make_lowquality(MIXED, n_samples=300, task="survival", seed=7)
    np.testing.assert_array_equal(a.labels.y, b.labels.y)
    assert ta.to_dict(per_sample=True) == tb.to_dict(per_sample=True)
    c, tc = make_lowquality(MIXED, n_samples=300, seed=7)  # classification: the same data and mask
    np.testing.assert_array_equal(a.data["tab"], c.data["tab"])
    np.testing.assert_array_equal(a.mask, c.mask)
    assert "survival" not in tc.to_dict() and "risk" not in tc.to_dict(per_sample=True)
    assert not {"task", "censored_share", "weibull_shape"} & set(tc.config)


def test_risk_follows_the_class_signal_and_the_strength():
    ds, truth = make_lowquality(3, n_samples=600, task="survival", seed=5)
    latent_class = make_lowquality(3, n_samples=600, seed=5)[0].y  # same latent draws
    assert truth.risk[latent_class == 1].mean() - truth.risk[latent_class == 0].mean() > 1.0
    flat, flat_truth = make_lowquality(3, n_samples=600, task="survival", risk_strength=0.0, seed=5)
    assert np.all(flat_truth.risk == 0) and abs(harrell_c(flat.labels.time, flat.labels.event, truth.risk) - 0.5) < 0.05
    strong, strong_truth = make_lowquality(3, n_samples=600, task="survival", risk_strength=2.0, seed=5)
    assert harrell_c(strong.labels.time, strong.labels.event, strong_truth.risk) > harrell_c(
        ds.labels.time, ds.labels.event, truth.risk
    )


def test_informative_modality_predicts_risk_lazy_one_does_not():
    ds, truth = make_lowquality(MIXED, n_samples=1000, task="survival", seed=11)
    r2 = {}
    for name in ("tab", "emb"):
        present = ds.availability(name)
        x = ds.data[name][present]
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-2, 3, 12)), x, truth.risk[present], cv=5)
        r2[name] = 1 - np.mean((pred - truth.risk[present]) ** 2) / np.var(truth.risk[present])
    assert r2["tab"] > 0.5 and r2["emb"] < 0.2 and truth.lazy_modalities == ("emb",)


@pytest.mark.parametrize("shape, ratio", [(1.0, 4.819), (2.0, 2.195)])
def test_weibull_times_without_censoring_or_risk(shape, ratio):
    ds, truth = make_lowquality(
        2,
        n_samples=4000,
        task="survival",
        weibull_shape=shape,
        censored_share=0.0,
        risk_strength=0.0,
        median_time=500.0,
        seed=1,
    )
    assert ds.labels.event.all() and truth.survival["censoring_max"] == float("inf")
    t = ds.labels.time
    assert np.median(t) == pytest.approx(500.0, rel=0.06)
    q25, q75 = np.quantile(t, [0.25, 0.75])  # Weibull: (ln 4 / ln 4/3) ** (1 / shape)
    assert q75 / q25 == pytest.approx(ratio, rel=0.1)
    assert truth.survival["distribution"] == ("exponential" if shape == 1.0 else "weibull")


@pytest.mark.parametrize("n_mod", [1, 2, 5, 7])
def test_every_option_still_works_with_survival(n_mod):
    kwargs = dict(
        task="survival",
        n_samples=400,
        seed=n_mod,
        censored_share=0.5,
        samples_per_patient=2,
        test_fraction=0.25,
        patterns=n_mod > 1 and 2**n_mod - 1 <= 200,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds, truth = make_lowquality(n_mod, **kwargs)
    assert ds.n_modalities == n_mod and ds.task == "survival" and ds.mask.any(axis=1).all()
    if kwargs["patterns"]:
        assert len(ds.pattern_counts()) == 2**n_mod - 1
    for g in np.unique(ds.groups):  # one outcome and one split per patient
        rows = ds.groups == g
        assert len(set(ds.labels.y[rows].tolist())) == 1 and len(set(ds.splits[rows])) == 1
    event = ds.labels.event
    assert event[ds.splits == "test"].mean() == pytest.approx(event.mean(), abs=0.05)  # stratified by event
    patients = len(np.unique(ds.groups))
    assert truth.survival["censored_share"] == pytest.approx(0.5, abs=1.0 / patients)


def test_default_cohorts_and_synergy_with_survival():
    ds5, t5 = default_cohort(5, seed=0, task="survival", n_samples=600)
    assert ds5.task == "survival" and len(ds5.pattern_counts()) == 31 and t5.synergy == (("mrna", "protein"),)
    assert set(t5.missingness.values()) >= {"mcar", "mnar_label", "mnar_severity"}
    assert 0.3 <= ds5.labels.counts()["censored"] / len(ds5) <= 0.5
    summary = ds5.summary()["survival"]
    assert summary["n_events"] == ds5.labels.counts()["events"] and summary["median_follow_up"] > 0
    assert SimConfig(modalities=2, task="survival").to_dict()["censored_share"] == 0.4
