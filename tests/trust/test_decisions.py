"""Operating points through a benchmark's repeats (trust.decisions)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents import MethodResult, ResultsDocument
from omnifuse.trust.decisions import OperatingPointCollector, check_threshold_task


class StubModel:
    """Predicts a fixed positive-class probability per dataset position."""

    def __init__(self, p1: np.ndarray) -> None:
        self.p1 = p1

    def predict_proba(self, index: np.ndarray) -> np.ndarray:
        p = self.p1[np.asarray(index)]
        return np.stack([1 - p, p], axis=1)


def _binary_case():
    # validation (0-9): negatives up to 0.6, positives from 0.7 -> Youden picks 0.7
    # test (10-19): positives at 0.3-0.5, negatives at 0.0-0.2 -> on test it would pick 0.3
    p1 = np.array(
        [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9] + [0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5]
    )
    y = np.array([0] * 5 + [1] * 5 + [0] * 5 + [1] * 5)
    ds = SimpleNamespace(task="binary", y=y, groups=np.array([f"p{i}" for i in range(20)]), class_names=["0", "1"])
    repeat = SimpleNamespace(val=np.arange(10), test=np.arange(10, 20), seed=0, label="seed 0")
    return ds, repeat, StubModel(p1)


def test_threshold_is_chosen_on_validation_samples_only():
    ds, repeat, model = _binary_case()
    points = OperatingPointCollector(ds, "youden")  # type: ignore[arg-type]
    points.add(repeat, {"m": model})
    result = points.result("m")
    assert result is not None and result.rule == "youden"
    assert result.thresholds == [pytest.approx(0.7)]  # on the test samples it would be 0.3
    assert result.metrics["sensitivity"].values == [0.0]  # every test positive is below 0.7
    assert result.metrics["specificity"].values == [1.0]


def test_fixed_threshold_and_bootstrap_intervals_and_apply():
    ds, repeat, model = _binary_case()
    points = OperatingPointCollector(ds, "0.25", n_boot=50)  # type: ignore[arg-type]
    points.add(repeat, {"m": model})
    points.add(SimpleNamespace(val=repeat.val, test=repeat.test, seed=1), {"m": model})
    doc = ResultsDocument.model_construct(
        methods={"m": MethodResult(kind="model", metrics={}, train_seconds=1.0, n_params=1)}
    )
    points.apply(doc)
    point = doc.methods["m"].operating_point
    assert point is not None and point.thresholds == [0.25, 0.25]
    sens = point.metrics["sensitivity"]
    assert sens.values == [1.0, 1.0] and sens.ci_low is not None and sens.ci_low <= 1.0
    assert set(point.metrics) == {"sensitivity", "specificity", "ppv", "npv", "f1", "mcc"}


def test_multiclass_is_argmax_with_confusion():
    y = np.array([0, 1, 2, 0, 1, 2])
    probs = np.eye(3)[[0, 1, 2, 1, 1, 2]]

    class Model:
        def predict_proba(self, index):
            return probs[np.asarray(index)]

    ds = SimpleNamespace(task="multiclass", y=y, groups=np.arange(6).astype(str), class_names=["a", "b", "c"])
    points = OperatingPointCollector(ds)  # type: ignore[arg-type]
    points.add(SimpleNamespace(val=np.arange(0), test=np.arange(6), seed=0), {"m": Model()})
    result = points.result("m")
    assert result is not None and result.rule is None and result.thresholds == []
    assert result.metrics["sensitivity:a"].values == [0.5]
    assert result.confusion == [[1, 1, 0], [0, 2, 0], [0, 0, 2]]


def test_threshold_task_errors():
    with pytest.raises(ConfigError, match="--threshold.*survival"):
        check_threshold_task("survival", "youden")
    with pytest.raises(ConfigError, match="in \\(0, 1\\)"):
        check_threshold_task("binary", "1.5")
    with pytest.raises(ConfigError, match="unknown rule"):
        check_threshold_task("binary", "best")
    assert check_threshold_task("survival", None) is None
