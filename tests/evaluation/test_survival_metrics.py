"""Survival metrics of the evaluation layer: reference values, degenerate folds, the patient
bootstrap, and benchmark / evaluate / details on survival models."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sksurv.metrics import concordance_index_censored, concordance_index_ipcw

from omnifuse.data.simulate import make_lowquality
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.evaluation.details import DetailsCollector
from omnifuse.evaluation.documents import DetailsDocument
from omnifuse.evaluation.evaluate import evaluate_model
from omnifuse.evaluation.statistics import mean_ci
from omnifuse.evaluation.survival_metrics import (
    SURVIVAL_METRICS,
    SurvivalMetricWarning,
    SurvivalPredictions,
    compute_survival_metrics,
    evaluation_times,
    higher_is_better,
    patient_resamples,
    predict_survival,
    survival_bootstrap_all,
    survival_bootstrap_distribution,
    survival_paired_bootstrap_pvalue,
)
from omnifuse.training.fit import SplitContext, fit

# fixed outcomes and risks (ties in time and in risk included)
TIME = np.array([5.0, 8.0, 8.0, 12.0, 15.0, 20.0, 22.0, 30.0, 31.0, 40.0, 41.0, 50.0])
EVENT = np.array([1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0], dtype=bool)
RISK = np.array([2.0, 1.5, 0.3, 1.5, -0.2, 0.4, 0.9, -1.0, 0.1, -0.3, -0.5, -1.2])


def predictions(time=TIME, event=EVENT, risk=RISK, train_time=None, train_event=None, groups=None):
    """Cox-like predictions with exponential curves ``S(t) = exp(-t/30 * e^risk)``."""
    train_time = time if train_time is None else train_time
    train_event = event if train_event is None else train_event
    horizons, grid = evaluation_times(train_time, train_event, time)
    curve = lambda at: np.exp(-np.outer(np.exp(risk), at) / 30.0)  # noqa: E731
    return SurvivalPredictions(
        time=time,
        event=event,
        risk=risk,
        horizons=horizons,
        horizon_survival=curve(horizons),
        brier_times=grid,
        brier_survival=curve(grid),
        train_time=train_time,
        train_event=train_event,
        groups=np.array([f"p{i}" for i in range(len(time))]) if groups is None else groups,
    )


def test_c_index_equals_scikit_survival_and_uno_uses_the_last_horizon():
    pred = predictions()
    scores = compute_survival_metrics(pred)
    assert set(scores) == set(SURVIVAL_METRICS)
    assert scores["c_index"] == pytest.approx(concordance_index_censored(EVENT, TIME, RISK)[0], abs=1e-12)
    y = np.array(list(zip(EVENT, TIME)), dtype=[("event", "?"), ("time", "<f8")])
    tau = pred.horizons[-1]
    assert scores["uno_c"] == pytest.approx(concordance_index_ipcw(y, y, RISK, tau=tau)[0], abs=1e-12)
    assert 0.0 <= scores["time_auc"] <= 1.0 and 0.0 <= scores["ibs"] <= 1.0
    assert all(higher_is_better(m) for m in ("c_index", "uno_c", "time_auc")) and not higher_is_better("ibs")


def test_fold_without_event_is_nan_with_a_warning_not_an_error():
    pred = predictions(event=np.zeros(len(TIME), dtype=bool), train_event=EVENT)
    with pytest.warns(SurvivalMetricWarning, match="c_index is undefined"):
        scores = compute_survival_metrics(pred)
    assert np.isnan(scores["c_index"])
    assert all(np.isnan(v) or 0.0 <= v <= 1.0 for v in scores.values())
    # the fold's NaN drops out of the interval over folds instead of poisoning it
    mean, low, high = mean_ci([0.7, scores["c_index"], 0.8])
    assert mean == pytest.approx(0.75) and low < mean < high


def test_no_comparable_pair_and_no_sample_are_nan():
    one = predictions(time=TIME[:1], event=EVENT[:1], risk=RISK[:1], train_time=TIME, train_event=EVENT)
    with pytest.warns(SurvivalMetricWarning):
        assert np.isnan(compute_survival_metrics(one)["c_index"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # warn=False is silent
        assert np.isnan(compute_survival_metrics(one, warn=False)["c_index"])


def test_test_events_after_the_training_follow_up_keep_time_auc_and_brier_defined():
    # the training fold stops at 30: IPCW of a test event at 40 is undefined, but the metrics
    # at horizons below 30 only need that patient to be event-free there
    train = TIME <= 31
    pred = predictions(train_time=TIME[train], train_event=EVENT[train])
    scores = compute_survival_metrics(pred)
    assert np.isfinite(scores["time_auc"]) and np.isfinite(scores["ibs"])


def test_patient_bootstrap_keeps_patients_whole_and_is_paired():
    groups = np.repeat([f"p{i}" for i in range(6)], 2)
    for rows in patient_resamples(groups, EVENT, 20, seed=3):
        assert len(rows) == len(TIME)
        chosen, counts = np.unique(groups[rows], return_counts=True)
        assert (counts % 2 == 0).all()  # both samples of a drawn patient come along
    pred = predictions(groups=groups)
    a = survival_bootstrap_distribution(pred, n_boot=30, seed=1)
    b = survival_bootstrap_distribution(pred, n_boot=30, seed=1)
    assert all(np.array_equal(a[m], b[m], equal_nan=True) for m in SURVIVAL_METRICS)
    res = survival_bootstrap_all(pred, n_boot=200, seed=0)
    cell = res["c_index"]
    assert cell["ci_low"] <= cell["mean"] <= cell["ci_high"]
    assert survival_paired_bootstrap_pvalue([pred], [pred], "c_index", n_boot=50) == 1.0
    worse = predictions(risk=-RISK, groups=groups)
    assert survival_paired_bootstrap_pvalue([pred], [worse], "c_index", n_boot=200) < 0.05


@pytest.fixture(scope="module")
def cohort():
    ds, truth = make_lowquality(3, task="survival", n_samples=200, seed=0, test_fraction=0.3)
    return ds, truth


@pytest.fixture(scope="module")
def trained(cohort):
    ds, _ = cohort
    test = ds.split_indices("test")
    pool = np.setdiff1d(np.arange(len(ds)), test)
    context = SplitContext(ds, pool[:110], pool[110:])
    return fit("concat", context, {"max_epochs": 20}), test


def test_predictions_of_a_fitted_model_use_its_training_fold(cohort, trained):
    ds, truth = cohort
    model, test = trained
    pred = predict_survival(model, test)
    assert len(pred) == len(test) and pred.horizon_survival.shape == (len(test), len(pred.horizons))
    train = np.concatenate([model.context.train, model.context.val])
    assert np.array_equal(np.sort(pred.train_time), np.sort(ds.y["time"][train]))
    scores = compute_survival_metrics(pred)
    assert scores["c_index"] > 0.6  # the simulated hazard is learnable
    assert np.all(np.diff(pred.horizon_survival, axis=1) <= 1e-12)  # curves do not increase


def test_evaluate_model_on_a_fitted_survival_model(cohort, trained):
    # bundles of survival models cannot be saved yet: the function behind `omnifuse evaluate`
    ds, _ = cohort
    model, test = trained
    doc = evaluate_model(model, ds, test, n_boot=50)
    assert doc["task"] == "survival" and set(doc["metrics"]) == set(SURVIVAL_METRICS)
    c = doc["metrics"]["c_index"]
    assert c["ci_low"] <= c["mean"] <= c["ci_high"] and c["mean"] > 0.6
    assert doc["clean"]["c_index"]["mean"] == pytest.approx(c["mean"])


def test_holdout_benchmark_and_details_of_survival_models(cohort):
    ds, _ = cohort
    details = DetailsCollector(ds)
    doc = run_benchmark(
        ds,
        ["concat", "late"],
        seeds=2,
        test_split="test",
        config={"max_epochs": 3},
        n_boot=30,
        on_repeat=lambda rep, fitted: details.add(fitted, rep.test, rep.label),
    )
    assert doc.task == "survival" and set(doc.methods["concat"].metrics) == set(SURVIVAL_METRICS)
    assert {t.metric for t in doc.tests} == {"c_index", "ibs"}
    assert all(t.p_value is None or 0 <= t.p_value <= 1 for t in doc.tests)
    assert "bootstrap" in doc.protocol.ci
    written = details.document("sim")
    back = DetailsDocument.model_validate(written.model_dump(mode="json"))
    s = back.methods["concat"].survival
    n_test = len(ds.split_indices("test"))
    assert s is not None and len(s.folds) == 2 and s.time_unit == "days"
    assert [f.label for f in s.folds] == doc.repeats
    assert len(s.risk) == len(s.time) == len(s.event) == len(s.fold) == len(s.survival) == 2 * n_test
    assert all(len(row) == len(s.folds[k].horizons) for row, k in zip(s.survival, s.fold))
    assert back.methods["concat"].confusion_matrix == [] and back.methods["concat"].calibration.count == []
