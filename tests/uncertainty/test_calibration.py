"""Temperature scaling on miscalibrated synthetic logits."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import special

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.uncertainty.calibration import TemperatureScaler, logits_from_probs, nll, probabilities


def _overconfident(n: int, k: int, factor: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from softmax(z); the "model" reports ``factor * z``."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, k)) * 1.5
    y = np.array([rng.choice(k, p=p) for p in special.softmax(z, axis=1)])
    return factor * z, y


@pytest.mark.parametrize("k, task", [(2, "binary"), (4, "multiclass")])
@pytest.mark.parametrize("factor", [3.0, 0.4])
def test_temperature_recovers_the_miscalibration(k, task, factor):
    val_logits, val_y = _overconfident(3000, k, factor, seed=0)
    test_logits, test_y = _overconfident(3000, k, factor, seed=1)
    scaler = TemperatureScaler.fit(val_logits, val_y, task)
    assert scaler.temperature == pytest.approx(factor, rel=0.15)
    assert scaler.nll_after < scaler.nll_before
    before = probabilities(test_logits, task)
    after = scaler.apply(test_logits)
    assert nll(scaler.scale(test_logits), test_y, task) < nll(test_logits, test_y, task)  # on unseen samples too
    m0, m1 = compute_metrics(before, test_y, task), compute_metrics(after, test_y, task)
    assert m1["ece"] < m0["ece"]
    assert np.array_equal(before.argmax(1), after.argmax(1))
    if task == "binary":
        assert m1["auroc"] == pytest.approx(m0["auroc"], abs=1e-12)  # ranking unchanged


def test_calibrated_model_keeps_a_temperature_near_one():
    logits, y = _overconfident(4000, 3, 1.0, seed=2)
    assert TemperatureScaler.fit(logits, y, "multiclass").temperature == pytest.approx(1.0, abs=0.1)


def test_binary_single_logit_and_probabilities():
    logits, y = _overconfident(2000, 2, 2.5, seed=3)
    margin = logits[:, 1] - logits[:, 0]
    a = TemperatureScaler.fit(margin, y, "binary")
    b = TemperatureScaler.fit(logits, y, "binary")
    assert a.temperature == pytest.approx(b.temperature, rel=1e-4)
    np.testing.assert_allclose(a.apply(margin), b.apply(logits), atol=1e-6)
    probs = special.softmax(logits, axis=1)
    c = TemperatureScaler.fit(logits_from_probs(probs, "binary"), y, "binary")  # sklearn baselines: log p
    assert c.temperature == pytest.approx(b.temperature, rel=1e-4)
    np.testing.assert_allclose(logits_from_probs(probs[:, 1], "binary"), logits_from_probs(probs, "binary"))


def test_multilabel_shared_temperature():
    rng = np.random.default_rng(4)
    z = rng.standard_normal((3000, 3)) * 2
    y = (rng.random((3000, 3)) < special.expit(z)).astype(int)
    scaler = TemperatureScaler.fit(2.0 * z, y, "multilabel")
    assert scaler.temperature == pytest.approx(2.0, rel=0.15)
    assert scaler.apply(2.0 * z).shape == (3000, 3)


def test_round_trip_is_json_safe():
    logits, y = _overconfident(500, 3, 2.0, seed=5)
    scaler = TemperatureScaler.fit(logits, y, "multiclass")
    again = TemperatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict(), allow_nan=False)))
    assert again == scaler
    with pytest.raises(ConfigError, match="positive number"):
        TemperatureScaler.from_dict({"temperature": -1})


def test_bad_inputs_are_config_errors():
    with pytest.raises(ConfigError, match="at least one"):
        TemperatureScaler.fit(np.zeros((0, 2)), np.zeros(0), "binary")
    with pytest.raises(ConfigError, match="NaN"):
        TemperatureScaler.fit(np.array([[0.0, np.nan]]), np.array([1]), "binary")
    with pytest.raises(ConfigError, match="unknown task"):
        TemperatureScaler.fit(np.zeros((2, 2)), np.array([0, 1]), "survival")
