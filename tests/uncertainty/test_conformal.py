"""Split conformal sets, Mondrian by availability pattern: coverage, set sizes, fallbacks."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special

from omnifuse.errors import ConfigError
from omnifuse.uncertainty.conformal import ConformalClassifier, conformal_quantile, min_calibration, set_coverage


def _draw(n: int, rng: np.random.Generator, strength: float, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a model's probabilities; ``strength`` sets how informative the model is."""
    y = rng.integers(0, k, n)
    z = strength * np.eye(k)[y] + rng.standard_normal((n, k))
    return special.softmax(z, axis=1), y


def test_minimum_sample_size_and_quantile():
    assert min_calibration(0.9) == 9 and min_calibration(0.95) == 19 and min_calibration(0.5) == 1
    scores = np.arange(1, 10) / 10  # 9 scores: k = ceil(10 * 0.9) = 9 -> the largest
    assert conformal_quantile(scores, 0.9) == 0.9
    assert conformal_quantile(np.arange(99) / 100, 0.9) == 0.89  # k = 90
    with pytest.raises(ConfigError) as err:
        conformal_quantile(scores[:8], 0.9)
    assert str(err.value) == "conformal prediction at 0.9 coverage needs at least 9 calibration samples, got 8"


@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_marginal_coverage_on_exchangeable_data(coverage):
    n_cal, n_test, seeds = 400, 2000, 20
    covered = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        cal_p, cal_y = _draw(n_cal, rng, 1.5)
        test_p, test_y = _draw(n_test, rng, 1.5)
        model = ConformalClassifier.fit(cal_p, cal_y, coverage=coverage, non_empty=False)
        covered.append(set_coverage(model.predict_sets(test_p), test_y)["coverage"])
    covered = np.array(covered)
    # per draw: coverage ~ Beta(k, n + 1 - k) plus the test binomial noise
    sd = math.sqrt(coverage * (1 - coverage) / n_cal + coverage * (1 - coverage) / n_test)
    assert np.all(np.abs(covered - coverage) < 4 * sd)
    # on average: in [coverage, coverage + 1 / (n + 1)] up to the noise of the mean
    assert (
        coverage - 3 * sd / math.sqrt(seeds) <= covered.mean() <= coverage + 1 / (n_cal + 1) + 3 * sd / math.sqrt(seeds)
    )


def test_non_empty_sets_only_add_coverage():
    rng = np.random.default_rng(0)
    cal_p, cal_y = _draw(300, rng, 1.5)
    test_p, test_y = _draw(1000, rng, 1.5)
    exact = ConformalClassifier.fit(cal_p, cal_y, coverage=0.3, non_empty=False).predict_sets(test_p)
    filled = ConformalClassifier.fit(cal_p, cal_y, coverage=0.3).predict_sets(test_p)
    assert (~exact.any(axis=1)).any()  # the LAC score does give empty sets here
    assert filled.any(axis=1).all() and np.all(filled >= exact)


def test_per_pattern_coverage_when_one_pattern_is_much_harder():
    """Complete patients (easy) outnumber those missing a modality (hard) 4:1: a pooled
    threshold under-covers the hard ones; the Mondrian threshold covers both."""
    mondrian, pooled, sizes = {"full": [], "partial": []}, {"full": [], "partial": []}, {"full": [], "partial": []}
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)

        def cohort(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            easy_p, easy_y = _draw(4 * n // 5, rng, 4.0)
            hard_p, hard_y = _draw(n // 5, rng, 0.5)
            pats = np.array(["ehr+notes"] * len(easy_y) + ["ehr"] * len(hard_y))
            return np.concatenate([easy_p, hard_p]), np.concatenate([easy_y, hard_y]), pats

        cal_p, cal_y, cal_pat = cohort(1000)
        test_p, test_y, test_pat = cohort(4000)
        by_pattern = ConformalClassifier.fit(cal_p, cal_y, cal_pat, coverage=0.9)
        one = ConformalClassifier.fit(cal_p, cal_y, coverage=0.9)
        a = set_coverage(by_pattern.predict_sets(test_p, test_pat), test_y, test_pat)["patterns"]
        b = set_coverage(one.predict_sets(test_p), test_y, test_pat)["patterns"]
        for key, pattern in (("full", "ehr+notes"), ("partial", "ehr")):
            mondrian[key].append(a[pattern]["coverage"])
            pooled[key].append(b[pattern]["coverage"])
            sizes[key].append(a[pattern]["mean_size"])
    tol = 3 * math.sqrt(0.09 / 200) / math.sqrt(10)  # the hard pattern has 200 calibration samples
    assert np.mean(mondrian["partial"]) >= 0.9 - tol
    assert np.mean(mondrian["full"]) >= 0.9 - tol
    assert np.mean(pooled["partial"]) < 0.85  # what the pooled threshold would have promised them
    assert np.mean(sizes["partial"]) > np.mean(sizes["full"]) + 0.5  # honest: larger sets when data are missing


def test_small_and_unseen_patterns_fall_back_to_the_pooled_threshold():
    rng = np.random.default_rng(1)
    p, y = _draw(200, rng, 2.0)
    pats = np.array(["a+b"] * 195 + ["a"] * 5)
    model = ConformalClassifier.fit(p, y, pats, coverage=0.9)
    assert model.min_per_group == 10
    assert set(model.patterns) == {"a+b"} and model.small_patterns == {"a": 5}
    q, own = model.quantiles(["a+b", "a", "b"])
    assert own.tolist() == [True, False, False]
    assert q[1] == q[2] == model.quantile and q[0] == model.patterns["a+b"]["quantile"]
    with pytest.raises(ConfigError, match="below the 9"):
        ConformalClassifier.fit(p, y, pats, coverage=0.9, min_per_group=5)


def test_not_enough_calibration_samples_is_a_one_line_config_error():
    rng = np.random.default_rng(2)
    p, y = _draw(15, rng, 1.0)
    with pytest.raises(ConfigError) as err:
        ConformalClassifier.fit(p, y, coverage=0.95)
    assert "needs at least 19 calibration samples, got 15" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"coverage must be in \(0, 1\)"):
        ConformalClassifier.fit(p, y, coverage=1.0)


def test_binary_probabilities_and_json_round_trip():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p1 = special.expit(2 * (2 * y - 1) + rng.standard_normal(300))
    pats = np.where(rng.random(300) < 0.5, "x", "x+y")
    model = ConformalClassifier.fit(p1, y, pats, coverage=0.9)
    sets = model.predict_sets(np.stack([1 - p1, p1], axis=1), pats)
    assert sets.shape == (300, 2) and np.array_equal(sets, model.predict_sets(p1, pats))
    again = ConformalClassifier.from_dict(json.loads(json.dumps(model.to_dict(), allow_nan=False)))
    assert again == model
    assert np.array_equal(again.predict_sets(p1, pats), sets)
    with pytest.raises(ConfigError, match="calibrated for 2 classes"):
        model.predict_sets(np.full((2, 3), 1 / 3))
    with pytest.raises(ConfigError, match="malformed"):
        ConformalClassifier.from_dict({"coverage": 0.9})


def test_masked_samples_calibrate_only_patterns_too_rare_to_have_their_own():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet([1, 1], size=200)
    y = (rng.random(200) < probs[:, 1]).astype(int)
    patterns = np.array(["a+b"] * 195 + ["a"] * 5)
    hard = np.full((50, 2), 0.5)
    masked = {"a": (hard, y[:50]), "a+b": (hard, y[:50]), "b": (hard, y[:50])}
    model = ConformalClassifier.fit(probs, y, patterns, coverage=0.9, masked=masked)
    assert model.patterns["a+b"]["source"] == "observed"  # enough real samples: masked ignored
    assert model.patterns["a"]["source"] == model.patterns["b"]["source"] == "masked"
    assert model.patterns["b"]["quantile"] == pytest.approx(0.5)
    assert model.predict_sets(np.array([[0.5, 0.5]]), ["b"]).all()  # both classes
    again = ConformalClassifier.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.patterns == model.patterns
    with pytest.raises(ConfigError, match="malformed"):
        ConformalClassifier.from_dict({**model.to_dict(), "patterns": {"a": {"quantile": 0.5, "n": 3, "source": "x"}}})


def test_coverage_per_true_class_shows_a_rare_class_covered_less():
    sets = np.array([[True, False]] * 9 + [[True, False]])  # always "survives"
    y = np.array([0] * 9 + [1])
    out = set_coverage(sets, y, class_names=["alive", "dead"])
    assert out["coverage"] == pytest.approx(0.9)
    assert out["classes"]["alive"]["coverage"] == 1.0 and out["classes"]["dead"]["coverage"] == 0.0
    assert out["classes"]["dead"]["n"] == 1
    assert set(set_coverage(sets, y)["classes"]) == {"0", "1"}


def _imbalanced(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated binary model of a rare class (about 15% positives, weakly separated)."""
    rng = np.random.default_rng(seed)
    logit = -2.0 + 1.2 * rng.standard_normal(n)
    p1 = special.expit(logit)
    y = (rng.random(n) < p1).astype(int)
    return np.stack([1 - p1, p1], axis=1), y


def test_by_class_covers_the_rare_class_at_the_target():
    cal_p, cal_y = _imbalanced(3000, 0)
    test_p, test_y = _imbalanced(20000, 1)
    marginal = ConformalClassifier.fit(cal_p, cal_y, coverage=0.9)
    by_class = ConformalClassifier.fit(cal_p, cal_y, coverage=0.9, by_class=True)
    m = set_coverage(marginal.predict_sets(test_p), test_y)
    c = set_coverage(by_class.predict_sets(test_p), test_y)
    assert m["classes"]["1"]["coverage"] < 0.6  # marginal: the rare class is mostly missed
    for k in ("0", "1"):
        assert c["classes"][k]["coverage"] == pytest.approx(0.9, abs=0.03)
    assert c["mean_size"] > m["mean_size"]
    again = ConformalClassifier.from_dict(json.loads(json.dumps(by_class.to_dict())))
    np.testing.assert_array_equal(again.predict_sets(test_p), by_class.predict_sets(test_p))


def test_by_class_per_pattern_falls_back_to_the_pooled_class_threshold():
    cal_p, cal_y = _imbalanced(400, 2)
    patterns = np.array(["a+b"] * 380 + ["a"] * 20)
    model = ConformalClassifier.fit(cal_p, cal_y, patterns, coverage=0.9, by_class=True)
    positives_a = int(cal_y[380:].sum())
    assert positives_a < model.min_per_group  # the rare pattern has too few positives
    thresholds = model.class_thresholds(["a"], 1)[0]
    assert thresholds[1] == pytest.approx(model.class_quantiles[1])
    assert thresholds[0] == pytest.approx(model.patterns["a"]["class_quantiles"][0])


def test_by_class_with_too_few_samples_of_a_class_is_a_one_line_error():
    probs = np.tile([[0.7, 0.3]], (40, 1))
    y = np.array([0] * 35 + [1] * 5)
    with pytest.raises(ConfigError, match="of every class; class 1 has 5") as err:
        ConformalClassifier.fit(probs, y, coverage=0.9, by_class=True)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="without by_class"):
        ConformalClassifier.fit(probs, y, coverage=0.8).class_thresholds(None, 1)
