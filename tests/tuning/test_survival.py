"""Tuning on survival cohorts: the objective is the mean inner-fold Harrell's C."""

from __future__ import annotations

import pytest

from omnifuse.data.simulate import make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.tuning import tune, tuned_benchmark

SMALL = {"max_epochs": 4}


@pytest.fixture(scope="module")
def survival_cohort():
    ds, _ = make_lowquality(2, task="survival", n_samples=120, seed=2)
    return ds


def test_tune_a_survival_model_on_the_inner_c_index(survival_cohort):
    result = tune(survival_cohort, "concat", 2, folds=2, config=SMALL)
    summary = result.summary
    assert summary.metric == "c_index" and summary.direction == "maximize"
    assert summary.n_complete + summary.n_pruned == 2
    assert result.best_value is not None and 0.0 <= result.best_value <= 1.0
    assert "mean c_index" in summary.protocol
    with pytest.raises(ConfigError, match="unknown metric 'auroc' for survival tasks"):
        tune(survival_cohort, "concat", 1, folds=2, config=SMALL, metric="auroc")


def test_nested_benchmark_of_a_survival_cohort(survival_cohort):
    doc = tuned_benchmark(survival_cohort, ["concat"], 2, tune_folds=2, folds=2, config=SMALL)
    method = doc.methods["concat"]
    assert len(method.tuned_configs) == 2 and all(method.tuned_configs)
    assert method.metrics["c_index"].mean is not None
    assert doc.protocol.tuning is not None and doc.protocol.tuning["metric"] == "c_index"
