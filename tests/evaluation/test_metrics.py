"""Metrics against sklearn, hand-computed ECE and the degenerate-case conventions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve as sk_calibration_curve

from omnifuse.errors import ConfigError
from omnifuse.evaluation import HIGHER_IS_BETTER, METRICS, calibration_curve, compute_metrics, confusion_matrix

TOL = 1e-6  # torchmetrics computes several ratios in float32


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_data(task: str, n: int = 400, c: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Informative but imperfect random predictions."""
    rng = np.random.default_rng(seed)
    if task == "multilabel":
        y = (rng.random((n, c)) < 0.3).astype(np.int64)
        return np.clip(0.35 * y + 0.65 * rng.random((n, c)), 0, 1), y
    c = 2 if task == "binary" else c
    y = rng.integers(0, c, n)
    z = rng.normal(size=(n, c))
    z[np.arange(n), y] += 1.0
    return _softmax(z), y


def check(values: dict[str, float], expected: dict[str, float]) -> None:
    assert set(values) == set(METRICS)
    for name, want in expected.items():
        assert values[name] == pytest.approx(want, abs=TOL), name


def test_metric_names() -> None:
    assert set(HIGHER_IS_BETTER) == set(METRICS)
    assert not HIGHER_IS_BETTER["brier"] and not HIGHER_IS_BETTER["ece"]
    assert all(HIGHER_IS_BETTER[m] for m in METRICS if m not in ("brier", "ece"))


def test_binary_matches_sklearn() -> None:
    p, y = make_data("binary")
    pred = (p[:, 1] > 0.5).astype(int)
    check(
        compute_metrics(p, y, "binary"),
        {
            "auroc": skm.roc_auc_score(y, p[:, 1]),
            "auprc": skm.average_precision_score(y, p[:, 1]),
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "macro_f1": skm.f1_score(y, pred, average="macro"),
            "kappa": skm.cohen_kappa_score(y, pred),
            "brier": skm.brier_score_loss(y, p[:, 1]),
        },
    )


def test_multiclass_matches_sklearn() -> None:
    p, y = make_data("multiclass")
    pred = p.argmax(axis=1)
    check(
        compute_metrics(p, y, "multiclass"),
        {
            "auroc": skm.roc_auc_score(y, p, multi_class="ovr", average="macro"),
            "auprc": skm.average_precision_score(np.eye(4)[y], p, average="macro"),
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "macro_f1": skm.f1_score(y, pred, average="macro"),
            "kappa": skm.cohen_kappa_score(y, pred),
            "brier": np.mean(np.sum((p - np.eye(4)[y]) ** 2, axis=1)),
        },
    )
    try:  # multiclass brier_score_loss exists from sklearn 1.7 on
        want = skm.brier_score_loss(y, p, labels=[0, 1, 2, 3])
    except TypeError:
        return
    assert compute_metrics(p, y, "multiclass")["brier"] == pytest.approx(want)


def test_multilabel_matches_sklearn() -> None:
    p, y = make_data("multilabel", c=5)
    pred = (p > 0.5).astype(int)
    cols = range(y.shape[1])
    check(
        compute_metrics(p, y, "multilabel"),
        {
            "auroc": skm.roc_auc_score(y, p, average="macro"),
            "auprc": skm.average_precision_score(y, p, average="macro"),
            "accuracy": skm.accuracy_score(y, pred),  # subset (exact-match) accuracy
            "balanced_accuracy": np.mean([skm.balanced_accuracy_score(y[:, k], pred[:, k]) for k in cols]),
            "macro_f1": skm.f1_score(y, pred, average="macro"),
            "kappa": np.mean([skm.cohen_kappa_score(y[:, k], pred[:, k]) for k in cols]),
            "brier": np.mean([skm.brier_score_loss(y[:, k], p[:, k]) for k in cols]),
        },
    )


def test_binary_ece_by_hand() -> None:
    p1 = np.array([0.1, 0.15, 0.55, 0.85, 0.95])
    y = np.array([0, 1, 1, 1, 0])
    # bins of width 0.2: {0.1, 0.15} conf .125 acc .5; {0.55} conf .55 acc 1; {0.85, 0.95} conf .9 acc .5
    want = 2 / 5 * 0.375 + 1 / 5 * 0.45 + 2 / 5 * 0.4
    assert compute_metrics(np.stack([1 - p1, p1], 1), y, "binary", n_bins=5)["ece"] == pytest.approx(want)
    assert compute_metrics(p1, y, "binary", n_bins=5)["ece"] == pytest.approx(want)  # 1-D accepted


def test_multiclass_ece_by_hand() -> None:
    p = np.array([[0.72, 0.18, 0.1], [0.1, 0.75, 0.15], [0.04, 0.04, 0.92], [0.45, 0.35, 0.2]])
    y = np.array([0, 2, 2, 0])
    # top-class confidence, 10 bins: {0.72, 0.75} in bin 7 (acc 1/2), 0.92 in bin 9, 0.45 in bin 4 (acc 1)
    want = 2 / 4 * abs(0.735 - 0.5) + 1 / 4 * abs(0.92 - 1) + 1 / 4 * abs(0.45 - 1)
    assert compute_metrics(p, y, "multiclass", n_bins=10)["ece"] == pytest.approx(want)


def test_multilabel_ece_is_mean_over_labels() -> None:
    p, y = make_data("multilabel", c=3)
    per_label = [compute_metrics(p[:, k], y[:, k], "binary")["ece"] for k in range(3)]
    assert compute_metrics(p, y, "multilabel")["ece"] == pytest.approx(np.mean(per_label))


def test_calibration_curve_matches_sklearn_and_ece() -> None:
    p, y = make_data("binary", n=500)
    curve = calibration_curve(p, y, "binary", n_bins=10)
    prob_true, prob_pred = sk_calibration_curve(y, p[:, 1], n_bins=10, strategy="uniform")
    filled = curve["count"] > 0
    np.testing.assert_allclose(curve["accuracy"][filled], prob_true)
    np.testing.assert_allclose(curve["confidence"][filled], prob_pred)
    assert np.all(np.isnan(curve["confidence"][~filled]))
    assert curve["count"].sum() == 500 and len(curve["edges"]) == 11
    gaps = curve["count"][filled] / 500 * np.abs(curve["confidence"] - curve["accuracy"])[filled]
    assert gaps.sum() == pytest.approx(compute_metrics(p, y, "binary", n_bins=10)["ece"], abs=TOL)


def test_calibration_curve_multiclass_uses_top_class() -> None:
    p = np.array([[0.72, 0.18, 0.1], [0.1, 0.75, 0.15], [0.04, 0.04, 0.92], [0.45, 0.35, 0.2], [0.0, 0.0, 1.0]])
    y = np.array([0, 2, 2, 0, 2])
    curve = calibration_curve(p, y, "multiclass", n_bins=10)
    assert curve["count"].tolist() == [0, 0, 0, 0, 1, 0, 0, 2, 0, 2]  # 1.0 folds into the last bin
    assert curve["accuracy"][7] == pytest.approx(0.5)
    assert curve["confidence"][9] == pytest.approx(0.96)


def test_confusion_matrix_matches_sklearn() -> None:
    p, y = make_data("multiclass")
    np.testing.assert_array_equal(confusion_matrix(p, y, "multiclass"), skm.confusion_matrix(y, p.argmax(1)))
    p, y = make_data("binary")
    np.testing.assert_array_equal(confusion_matrix(p, y, "binary"), skm.confusion_matrix(y, p[:, 1] > 0.5))
    p, y = make_data("multilabel", c=3)
    np.testing.assert_array_equal(confusion_matrix(p, y, "multilabel"), skm.multilabel_confusion_matrix(y, p > 0.5))


def test_tensor_input_equals_numpy() -> None:
    p, y = make_data("multiclass")
    a = compute_metrics(p, y, "multiclass")
    b = compute_metrics(torch.tensor(p, dtype=torch.float32), torch.from_numpy(y), "multiclass")
    for m in METRICS:
        assert b[m] == pytest.approx(a[m], abs=1e-5)


def test_absent_class_is_left_out_of_macro_means() -> None:
    p, y = make_data("multiclass", n=300)
    y = np.where(y == 3, 0, y)  # class 3 never occurs, but the model still predicts it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing leaks
        got = compute_metrics(p, y, "multiclass")
    present = [0, 1, 2]
    onehot = np.eye(4)[y]
    pred = p.argmax(1)
    assert got["auroc"] == pytest.approx(np.mean([skm.roc_auc_score(onehot[:, k], p[:, k]) for k in present]), abs=TOL)
    assert got["auprc"] == pytest.approx(
        np.mean([skm.average_precision_score(onehot[:, k], p[:, k]) for k in present]), abs=TOL
    )
    assert got["balanced_accuracy"] == pytest.approx(np.mean(skm.recall_score(y, pred, labels=present, average=None)))
    # class 3 is predicted, so its F1 is 0 and counts; a class neither true nor predicted would not
    assert got["macro_f1"] == pytest.approx(skm.f1_score(y, pred, labels=range(4), average="macro"), abs=TOL)


def test_single_class_targets() -> None:
    p, _ = make_data("binary", n=50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = compute_metrics(p, np.ones(50, dtype=int), "binary")
    assert np.isnan(got["auroc"]) and np.isnan(got["auprc"])
    for m in ("accuracy", "balanced_accuracy", "brier", "ece"):
        assert np.isfinite(got[m]), m
    pm, _ = make_data("multiclass", n=50)
    got = compute_metrics(pm, np.full(50, 2), "multiclass")
    assert np.isnan(got["auroc"]) and np.isnan(got["auprc"]) and np.isfinite(got["accuracy"])


def test_constant_prediction_and_truth_gives_nan_kappa() -> None:
    y = np.zeros(10, dtype=int)
    p = np.tile([0.9, 0.1], (10, 1))
    got = compute_metrics(p, y, "binary")
    assert np.isnan(got["kappa"]) and got["accuracy"] == 1.0 and got["macro_f1"] == 1.0


def test_multilabel_constant_label_is_left_out() -> None:
    p, y = make_data("multilabel", c=4)
    y[:, 2] = 0
    got = compute_metrics(p, y, "multilabel")
    keep = [0, 1, 3]
    assert got["auroc"] == pytest.approx(skm.roc_auc_score(y[:, keep], p[:, keep], average="macro"), abs=TOL)
    pred = (p > 0.5).astype(int)
    want = skm.f1_score(y, pred, average="macro", zero_division=np.nan)
    assert got["macro_f1"] == pytest.approx(want, abs=TOL)


def test_perfect_classifier() -> None:
    y = np.array([0, 1, 2, 1, 0, 2])
    got = compute_metrics(np.eye(3)[y], y, "multiclass")
    for m in ("auroc", "auprc", "accuracy", "balanced_accuracy", "macro_f1", "kappa"):
        assert got[m] == pytest.approx(1.0), m
    assert got["brier"] == 0.0 and got["ece"] == pytest.approx(0.0)


def test_empty_input_is_all_nan() -> None:
    got = compute_metrics(np.zeros((0, 2)), np.zeros(0, dtype=int), "binary")
    assert all(np.isnan(v) for v in got.values())


def test_invalid_inputs() -> None:
    p, y = make_data("multiclass")
    with pytest.raises(ConfigError):
        compute_metrics(p, y, "regression")
    with pytest.raises(ValueError):
        compute_metrics(p, y[:-1], "multiclass")
    with pytest.raises(ValueError):
        compute_metrics(p, y + 4, "multiclass")
    with pytest.raises(ValueError):
        compute_metrics(p, y, "binary")
    bad = p.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        compute_metrics(bad, y, "multiclass")
