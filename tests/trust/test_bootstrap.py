"""Intervals over patients: the cluster bootstrap when patients have several samples."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.evaluation.metrics import METRICS, compute_metrics
from omnifuse.evaluation.statistics import bootstrap_all
from omnifuse.trust._bootstrap import intervals


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    z = 1.5 * np.eye(3)[y] + rng.standard_normal((n, 3))
    return np.exp(z) / np.exp(z).sum(1, keepdims=True), y


def test_one_sample_per_patient_is_statistics_bootstrap_all():
    p, y = _data(200, 0)
    ours = intervals(p, y, "multiclass", ["auroc", "brier"], groups=np.arange(200).astype(str), n_boot=100)
    theirs = bootstrap_all(p, y, "multiclass", ["auroc", "brier"], n_boot=100)
    for m in ("auroc", "brier"):
        assert ours[m] == {"value": theirs[m]["mean"], "ci_low": theirs[m]["ci_low"], "ci_high": theirs[m]["ci_high"]}


def test_cluster_bootstrap_counts_patients_not_stays():
    p, y = _data(150, 1)
    p3, y3 = np.repeat(p, 3, axis=0), np.repeat(y, 3)
    patients = np.repeat(np.arange(150), 3).astype(str)
    cluster = intervals(p3, y3, "multiclass", list(METRICS), groups=patients, n_boot=300)
    stays = intervals(p3, y3, "multiclass", list(METRICS), n_boot=300)
    once = intervals(p, y, "multiclass", list(METRICS), n_boot=300)
    point = compute_metrics(p3, y3, "multiclass")
    for m in METRICS:
        assert cluster[m]["value"] == pytest.approx(point[m])
        assert cluster[m]["ci_low"] <= cluster[m]["value"] <= cluster[m]["ci_high"], m
    width = {
        name: r["auroc"]["ci_high"] - r["auroc"]["ci_low"]
        for name, r in (("cluster", cluster), ("stays", stays), ("once", once))
    }
    assert width["cluster"] == pytest.approx(width["once"], rel=0.3)
    assert width["stays"] < 0.75 * width["cluster"]
