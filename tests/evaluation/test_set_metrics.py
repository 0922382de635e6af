"""Coverage and mean size of conformal prediction sets, and their bootstrap intervals."""

import numpy as np
import pytest

from omnifuse.evaluation.set_metrics import coverage, set_bootstrap, set_metrics, set_size
from omnifuse.evaluation.statistics import bootstrap_all


def test_set_metrics_by_hand():
    sets = np.array([[True, False], [True, True], [False, True], [True, False]])
    y = np.array([0, 1, 0, 1])
    assert coverage(sets, y) == pytest.approx(0.5)  # samples 0 and 1 hold their class
    assert set_size(sets, y) == pytest.approx(1.25)
    assert set_metrics(sets, y) == {"coverage": 0.5, "set_size": 1.25}
    assert np.isnan(coverage(sets[:0], y[:0]))


def test_set_bootstrap_draws_the_resamples_of_the_other_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    probs = rng.dirichlet(np.ones(3), 300)
    probs[np.arange(300), y] += rng.random(300)  # some skill
    probs /= probs.sum(axis=1, keepdims=True)
    # singleton sets of the argmax: coverage is the accuracy, resample by resample
    sets = np.eye(3, dtype=bool)[probs.argmax(axis=1)]
    ours = set_bootstrap(sets, y, "multiclass", n_boot=200, seed=4)
    theirs = bootstrap_all(probs, y, "multiclass", ["accuracy"], n_boot=200, seed=4)["accuracy"]
    assert ours["coverage"]["mean"] == pytest.approx(theirs["mean"])
    assert ours["coverage"]["ci_low"] == pytest.approx(theirs["ci_low"])
    assert ours["coverage"]["ci_high"] == pytest.approx(theirs["ci_high"])
    assert ours["set_size"] == {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0}
    assert np.isnan(set_bootstrap(sets[:0], y[:0], "multiclass", 10, 0)["coverage"]["ci_low"])
