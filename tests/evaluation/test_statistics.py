"""Bootstrap intervals, paired tests and summaries over repeats."""

from __future__ import annotations


import numpy as np
import pytest
from scipy import stats

from omnifuse.errors import ConfigError
from omnifuse.evaluation import (
    METRICS,
    bootstrap_all,
    bootstrap_ci,
    bootstrap_distribution,
    compute_metrics,
    mean_ci,
    paired_ttest,
    summarize,
)

from .test_metrics import make_data

TASKS = ("binary", "multiclass", "multilabel")


@pytest.mark.parametrize("task", TASKS)
def test_fast_bootstrap_equals_compute_metrics_on_each_resample(task: str) -> None:
    """Vectorised metrics == compute_metrics on the very same resamples (callable path)."""
    p, y = make_data(task, n=150, c=4, seed=3)

    def slow(name: str):
        def fn(pp: np.ndarray, yy: np.ndarray) -> float:
            return compute_metrics(pp, yy, task)[name]

        fn.__name__ = "slow_" + name
        return fn

    for stratified in (True, False):
        dist = bootstrap_distribution(
            p, y, task, list(METRICS) + [slow(m) for m in METRICS], n_boot=12, seed=5, stratified=stratified
        )
        for m in METRICS:
            np.testing.assert_allclose(dist[m], dist["slow_" + m], atol=1e-6, err_msg=m)


@pytest.mark.parametrize("task", TASKS)
def test_ci_contains_point_estimate(task: str) -> None:
    p, y = make_data(task, n=300)
    res = bootstrap_all(p, y, task, n_boot=200)
    point = compute_metrics(p, y, task)
    assert set(res) == set(METRICS)
    for m, r in res.items():
        assert set(r) == {"mean", "ci_low", "ci_high"}
        assert r["mean"] == point[m]
        assert r["ci_low"] <= r["mean"] <= r["ci_high"], m


def test_ci_narrows_with_more_samples() -> None:
    small = bootstrap_ci(*make_data("binary", n=200), "binary", "auroc", n_boot=300)
    large = bootstrap_ci(*make_data("binary", n=3000), "binary", "auroc", n_boot=300)
    assert large[2] - large[1] < 0.6 * (small[2] - small[1])


def test_reproducible_by_seed() -> None:
    p, y = make_data("multiclass", n=200)
    a = bootstrap_ci(p, y, "multiclass", "macro_f1", n_boot=100, seed=7)
    assert bootstrap_ci(p, y, "multiclass", "macro_f1", n_boot=100, seed=7) == a
    assert bootstrap_ci(p, y, "multiclass", "macro_f1", n_boot=100, seed=8) != a


def test_perfect_classifier() -> None:
    y = np.repeat([0, 1, 2], 20)
    p = np.eye(3)[y]
    for m in ("auroc", "auprc", "accuracy", "kappa"):
        assert bootstrap_ci(p, y, "multiclass", m, n_boot=50) == pytest.approx((1.0, 1.0, 1.0)), m
    assert bootstrap_ci(p, y, "multiclass", "brier", n_boot=50) == (0.0, 0.0, 0.0)


def test_stratified_resamples_keep_every_class() -> None:
    y = np.array([0] * 40 + [1] * 3 + [2] * 2)
    p = np.full((45, 3), 1 / 3)

    def n_classes(pp: np.ndarray, yy: np.ndarray) -> float:
        return float(len(np.unique(yy)))

    assert np.all(bootstrap_distribution(p, y, "multiclass", [n_classes], n_boot=200)["n_classes"] == 3)
    plain = bootstrap_distribution(p, y, "multiclass", [n_classes], n_boot=200, stratified=False)["n_classes"]
    assert np.any(plain < 3)


def test_nan_resamples_are_skipped() -> None:
    rng = np.random.default_rng(0)
    y = np.zeros(30, dtype=int)
    y[0] = 1  # a single positive: many plain resamples have none
    p1 = rng.random(30)
    dist = bootstrap_distribution(p1, y, "binary", ["auroc"], n_boot=200, stratified=False)["auroc"]
    assert np.isnan(dist).any() and np.isfinite(dist).any()
    point, low, high = bootstrap_ci(p1, y, "binary", "auroc", n_boot=200, stratified=False)
    assert np.isfinite(low) and np.isfinite(high) and low <= high
    assert np.all(np.isnan(bootstrap_ci(p1, np.zeros(30, dtype=int), "binary", "auroc", n_boot=20)))


def test_bad_arguments() -> None:
    p, y = make_data("binary", n=50)
    with pytest.raises(ConfigError):
        bootstrap_ci(p, y, "binary", "f2")
    with pytest.raises(ValueError):
        bootstrap_ci(p, y, "binary", "auroc", alpha=1.5)


def test_paired_ttest_equals_scipy() -> None:
    a = [0.81, 0.79, 0.85, 0.83, 0.80]
    b = [0.78, 0.77, 0.84, 0.79, 0.80]
    assert paired_ttest(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)
    # NaN pairs are dropped
    assert paired_ttest(a + [np.nan, 0.9], b + [0.5, np.nan]) == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_paired_ttest_degenerate() -> None:
    assert paired_ttest([0.8, 0.7, 0.9], [0.8, 0.7, 0.9]) == 1.0
    assert paired_ttest([0.8], [0.8]) == 1.0
    assert np.isnan(paired_ttest([0.8], [0.7]))
    assert np.isnan(paired_ttest([0.8, 0.7], [0.7, 0.6]))  # constant non-zero difference
    assert np.isnan(paired_ttest([], []))
    assert np.isnan(paired_ttest([np.nan], [0.5]))
    with pytest.raises(ValueError):
        paired_ttest([1, 2], [1, 2, 3])


def test_summarize() -> None:
    assert summarize([1, 2, 3]) == {"mean": 2.0, "std": 1.0, "values": [1.0, 2.0, 3.0]}
    s = summarize([1, np.nan, 3])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(np.sqrt(2)) and np.isnan(s["values"][1])
    s = summarize([4.0])
    assert s["mean"] == 4.0 and np.isnan(s["std"])


def test_mean_ci_is_a_t_interval() -> None:
    v = [0.7, 0.74, 0.69, 0.75, 0.72]
    mean, low, high = mean_ci(v, alpha=0.1)
    want = stats.t.interval(0.9, len(v) - 1, loc=np.mean(v), scale=stats.sem(v))
    assert mean == pytest.approx(np.mean(v))
    assert (low, high) == pytest.approx(want)
    # (repeats, levels): one interval per level, NaN ignored
    m = np.array([[0.9, 0.8, 0.6], [0.92, 0.78, np.nan], [0.88, 0.82, 0.5]])
    means, lows, highs = mean_ci(m)
    assert means.shape == (3,) and means[2] == pytest.approx(0.55)
    assert (lows[0], highs[0]) == pytest.approx(mean_ci(m[:, 0])[1:])
    assert np.isnan(mean_ci([0.5])[1]) and mean_ci([0.5])[0] == 0.5
