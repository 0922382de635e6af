"""The bundle's operating point: stored, reloaded, and deciding the predicted class."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.data.splits import holdout_indices
from omnifuse.serving import load_bundle
from omnifuse.serving.answers import Predictor, answer_records
from omnifuse.serving.bundle import save_bundle
from omnifuse.training.fit import PredictionDetails, SplitContext, fit


def _details(probs: np.ndarray) -> PredictionDetails:
    n = len(probs)
    return PredictionDetails(probs, {}, None, np.zeros((n, 1), bool), np.zeros((n, 1), bool))


def test_answer_records_use_the_threshold_for_binary_tasks():
    probs = np.array([[0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    argmax = answer_records(_details(probs), ["m"], ["no", "yes"], "binary", ["a", "b", "c"])
    assert [a["predicted_class"] for a in argmax] == ["no", "no", "yes"]
    low = answer_records(_details(probs), ["m"], ["no", "yes"], "binary", ["a", "b", "c"], threshold=0.3)
    assert [a["predicted_class"] for a in low] == ["no", "yes", "yes"]
    three = np.array([[0.5, 0.3, 0.2]])
    multi = answer_records(_details(three), ["m"], ["a", "b", "c"], "multiclass", ["x"], threshold=0.3)
    assert multi[0]["predicted_class"] == "a"  # multiclass stays the argmax


@pytest.fixture(scope="module")
def fitted():
    ds, _ = default_cohort(3, seed=2, n_samples=120)
    train, val = holdout_indices(ds, np.arange(len(ds)), 0.25, seed=0)
    return fit("sk-logreg", SplitContext(ds, train, val))


def test_threshold_is_stored_reloaded_and_used(fitted, tmp_path):
    ds = fitted.context.dataset
    save_bundle(fitted, tmp_path / "b", threshold=(0.05, "0.05"))
    bundle = load_bundle(tmp_path / "b")
    assert bundle.info["threshold"] == 0.05 and bundle.info["threshold_rule"] == "0.05"
    answers = Predictor(bundle).answers(ds)
    p1 = np.array([a["probabilities"][ds.class_names[1]] for a in answers])
    predicted = np.array([a["predicted_class"] == ds.class_names[1] for a in answers])
    np.testing.assert_array_equal(predicted, p1 >= 0.05)
    assert predicted.sum() > (p1 >= 0.5).sum()  # the low threshold calls more samples positive


def test_bundle_without_threshold_keeps_the_argmax(fitted, tmp_path):
    ds = fitted.context.dataset
    save_bundle(fitted, tmp_path / "old")
    info = json.loads((tmp_path / "old" / "bundle.json").read_text())
    assert "threshold" not in info  # the file is as before
    bundle = load_bundle(tmp_path / "old")
    assert bundle.info["threshold"] is None
    answers = Predictor(bundle).answers(ds)
    p = np.array([[a["probabilities"][c] for c in ds.class_names] for a in answers])
    assert [a["predicted_class"] for a in answers] == [ds.class_names[k] for k in p.argmax(axis=1)]
