"""`run_benchmark` with post-hoc uncertainty: conformal set metrics and calibrated probabilities."""

import numpy as np
import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.evaluation.documents import ResultsDocument
from omnifuse.evaluation.metrics import compute_metrics


def test_conformal_benchmark_reports_coverage_and_set_size_per_fold():
    ds, _ = default_cohort(3, seed=0, n_samples=600)
    fitted = []
    results = run_benchmark(
        ds,
        ["sk-logreg", "sk-hgb"],
        folds=3,
        config={"conformal": 0.9},
        on_repeat=lambda rep, models: fitted.append((rep, models)),
    )
    results = ResultsDocument.model_validate_json(results.model_dump_json())  # survives results.json
    for name, method in results.methods.items():
        cov, size = method.metrics["coverage"], method.metrics["set_size"]
        assert len(cov.values) == len(size.values) == 3
        assert cov.mean == pytest.approx(np.mean(cov.values)) and cov.ci_low <= cov.mean <= cov.ci_high
        assert 0.82 <= cov.mean <= 0.98  # 120 validation samples, 200 test samples per fold
        assert all(1.0 <= s <= 2.0 for s in size.values)
        # each fold's value is the coverage of the model's own sets on that fold's test samples
        for k, (rep, models) in enumerate(fitted):
            sets = models[name].predict_sets(rep.test)
            assert cov.values[k] == pytest.approx(float(sets[np.arange(len(rep.test)), ds.y[rep.test]].mean()))
            assert size.values[k] == pytest.approx(float(sets.sum(axis=1).mean()))


def test_without_conformal_there_are_no_set_metrics():
    ds, _ = default_cohort(3, seed=0, n_samples=300)
    results = run_benchmark(ds, ["sk-logreg"], folds=2)
    assert "coverage" not in results.methods["sk-logreg"].metrics


def _nll(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def test_temperature_lowers_ece_and_nll_of_an_overconfident_model_on_held_out_folds():
    # almost unregularised logistic regression on 240 patients and 58 features: it separates
    # its training folds and is far too sure of itself on the test folds
    ds, _ = default_cohort(3, seed=1, n_samples=240)
    config = {"model": {"C": 1e4}}
    seen = []
    raw = run_benchmark(ds, ["sk-logreg"], folds=4, config=config)
    calibrated = run_benchmark(
        ds,
        ["sk-logreg"],
        folds=4,
        config=config | {"calibrate": "temperature"},
        on_repeat=lambda rep, models: seen.append((rep, models["sk-logreg"])),
    )
    before, after = raw.methods["sk-logreg"].metrics, calibrated.methods["sk-logreg"].metrics
    # the results' probability metrics are those of the calibrated probabilities, fold by fold
    for k, (rep, model) in enumerate(seen):
        assert model.calibration is not None and model.calibration.temperature > 2.0  # over-confident
        y = ds.y[rep.test]
        p_raw, p_cal = model.raw_proba(rep.test), model.predict_proba(rep.test)
        assert before["ece"].values[k] == pytest.approx(compute_metrics(p_raw, y, "binary")["ece"])
        assert after["ece"].values[k] == pytest.approx(compute_metrics(p_cal, y, "binary")["ece"])
        assert after["brier"].values[k] == pytest.approx(compute_metrics(p_cal, y, "binary")["brier"])
        assert _nll(p_cal, y) < _nll(p_raw, y)
        assert after["ece"].values[k] < before["ece"].values[k]
        # one temperature keeps the order of the patients (AUROC may move where the raw
        # probabilities saturate to ties in torchmetrics' float32)
        assert np.all(np.diff(p_cal[np.argsort(p_raw[:, 1], kind="stable"), 1]) >= -1e-9)
    assert after["ece"].mean < before["ece"].mean - 0.05
    assert after["brier"].mean < before["brier"].mean
