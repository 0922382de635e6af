"""Answer records with conformal sets, from hand-made probabilities (no training): one
threshold per pattern, or one per class (``conformal_by_class``), and the CSV columns."""

from __future__ import annotations

import numpy as np

from omnifuse.serving.answers import answer_records, flat_rows
from omnifuse.serving.set_answers import prediction_sets
from omnifuse.training.fit import PredictionDetails
from omnifuse.uncertainty.conformal import ConformalClassifier


def _details(probs: np.ndarray) -> PredictionDetails:
    n = len(probs)
    return PredictionDetails(probs, {}, None, np.zeros((n, 1), bool), np.zeros((n, 1), bool))


def _calibration(by_class: bool) -> ConformalClassifier:
    rng = np.random.default_rng(0)
    p = rng.dirichlet([1, 1, 1], size=200)
    y = np.array([rng.choice(3, p=row) for row in p])
    patterns = np.where(np.arange(200) < 150, "m", "(none)")
    return ConformalClassifier.fit(p, y, patterns, coverage=0.8, by_class=by_class)


def test_by_class_answers_give_a_threshold_per_class():
    conformal = _calibration(by_class=True)
    probs = np.array([[0.6, 0.3, 0.1], [0.34, 0.33, 0.33]])
    sets = prediction_sets(conformal, probs, np.array(["m", "other"]))
    answers = answer_records(_details(probs), ["m"], ["a", "b", "c"], "multiclass", ["x", "y"], sets=sets)
    expected = conformal.class_thresholds(["m", "other"], 2)
    for i, answer in enumerate(answers):
        part = answer["conformal"]
        assert part["threshold"] is None
        assert part["class_thresholds"] == dict(zip("abc", expected[i].tolist()))
        within = [c for c, p, q in zip("abc", probs[i], expected[i]) if 1 - p <= q + 1e-12]
        assert answer["prediction_set"] == (within or ["abc"[int(np.argmax(probs[i]))]])
    assert [a["conformal"]["threshold_source"] for a in answers] == ["pattern", "pooled"]
    row = flat_rows(answers, ["m"], ["a", "b", "c"])[0]
    assert row["set_threshold_a"] == expected[0, 0] and "set_class_thresholds" not in row
    assert row["prediction_set"] == "|".join(answers[0]["prediction_set"])


def test_marginal_answers_give_one_threshold():
    conformal = _calibration(by_class=False)
    probs = np.array([[0.6, 0.3, 0.1]])
    sets = prediction_sets(conformal, probs, np.array(["m"]))
    part = answer_records(_details(probs), ["m"], ["a", "b", "c"], "multiclass", ["x"], sets=sets)[0]["conformal"]
    assert part["threshold"] == conformal.patterns["m"]["quantile"] and part["class_thresholds"] is None
    assert part["n_calibration"] == 150 and part["coverage"] == 0.8
