"""Subgroup audit: per-subgroup metrics with intervals, gaps, fairlearn differences, edge cases."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.trust.operating_points import operating_point_metrics
from omnifuse.trust.subgroups import audit_subgroups


@pytest.fixture(scope="module")
def cohort():
    """The model is good for ICU type 'medical' and poor for 'surgical'; sex does not matter."""
    rng = np.random.default_rng(0)
    n = 600
    icu = np.where(rng.random(n) < 0.5, "medical", "surgical")
    sex = rng.choice(["F", "M", None], size=n, p=[0.45, 0.45, 0.1])
    y = (rng.random(n) < 0.35).astype(int)
    strength = np.where(icu == "medical", 3.0, 0.5)
    p = 1 / (1 + np.exp(-(strength * (2 * y - 1) + rng.standard_normal(n))))
    return p, y, pd.DataFrame({"icu_type": icu, "sex": sex, "age": rng.integers(20, 90, n)})


def test_every_metric_per_subgroup_with_intervals_and_gaps(cohort):
    p, y, df = cohort
    audit = audit_subgroups(p, y, df, threshold=0.4, columns=["icu_type", "sex"], n_boot=200)
    icu = audit.columns[0]
    assert icu.column == "icu_type" and [s.level for s in icu.subgroups] == ["medical", "surgical"]
    medical = icu.subgroups[0]
    rows = df["icu_type"].to_numpy() == "medical"
    expected = compute_metrics(p[rows], y[rows], "binary")
    for name in ("auroc", "auprc", "brier", "ece"):
        assert medical.metrics[name].value == pytest.approx(expected[name])
    op = operating_point_metrics(p[rows], y[rows], 0.4)
    for name in ("sensitivity", "specificity", "ppv", "npv", "f1", "mcc"):
        assert medical.metrics[name].value == pytest.approx(op[name])
        assert medical.metrics[name].ci_low <= medical.metrics[name].value <= medical.metrics[name].ci_high
    assert medical.n == rows.sum() and sum(medical.class_counts.values()) == medical.n
    gap = icu.gaps["auroc"]
    assert (gap.highest, gap.lowest) == ("medical", "surgical")
    assert gap.gap == pytest.approx(expected["auroc"] - icu.subgroups[1].metrics["auroc"].value)
    assert gap.gap > 0.2 and audit.columns[1].gaps["auroc"].gap < gap.gap
    assert "(missing)" in [s.level for s in audit.columns[1].subgroups]  # None is a subgroup of its own
    assert audit.overall.n == len(y) and audit.overall.level == "(all)"


def test_fairness_differences_match_fairlearn(cohort):
    p, y, df = cohort
    audit = audit_subgroups(p, y, df, threshold=0.4, columns=["icu_type"], n_boot=50)
    pred = (p >= 0.4).astype(int)
    fair = audit.columns[0].fairness
    assert fair.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(y, pred, sensitive_features=df["icu_type"])
    )
    assert fair.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(y, pred, sensitive_features=df["icu_type"])
    )
    assert set(fair.by_group) == {"medical", "surgical"}
    assert fair.by_group["medical"]["true_positive_rate"] == pytest.approx(
        audit.columns[0].subgroups[0].metrics["sensitivity"].value
    )


def test_unknown_column_names_it_and_lists_the_available_ones(cohort):
    p, y, df = cohort
    with pytest.raises(ConfigError) as err:
        audit_subgroups(p, y, df, columns=["ethnicity"])
    assert str(err.value) == "subgroup column 'ethnicity' not found (available: icu_type, sex, age)"
    with pytest.raises(ConfigError, match="rows for"):
        audit_subgroups(p, y, df.iloc[:10])
    with pytest.raises(ConfigError, match=r"a fixed threshold must be in \(0, 1\)"):
        audit_subgroups(p, y, df, threshold=1.5)


def test_single_class_subgroup_gets_nan_auroc_and_a_note_not_a_crash():
    rng = np.random.default_rng(1)
    y = np.r_[rng.integers(0, 2, 100), np.ones(8, dtype=int)]
    p = np.clip(0.3 + 0.4 * y + 0.2 * rng.standard_normal(len(y)), 0.01, 0.99)
    df = pd.DataFrame({"site": ["a"] * 100 + ["b"] * 8})
    audit = audit_subgroups(p, y, df, threshold=0.5, n_boot=50)
    b = audit.columns[0].subgroups[1]
    assert np.isnan(b.metrics["auroc"].value) and np.isnan(b.metrics["auroc"].ci_low)
    assert np.isnan(b.metrics["specificity"].value)
    assert any("AUROC and AUPRC are undefined" in note for note in b.notes)
    fair = audit.columns[0].fairness
    assert fair.excluded == ["b"] and fair.equalized_odds_difference is None  # one eligible group left
    assert np.isnan(fair.by_group["b"]["false_positive_rate"])
    assert any("equalised-odds" in note for note in audit.columns[0].notes)
    doc = audit.to_dict()
    text = json.dumps(doc, allow_nan=False)  # NaN became null: strict JSON
    assert json.loads(text)["columns"][0]["subgroups"][1]["metrics"]["auroc"]["value"] is None


def test_multiclass_audit_and_patient_groups():
    rng = np.random.default_rng(2)
    n = 300
    y = rng.integers(0, 3, n)
    z = 2 * np.eye(3)[y] + rng.standard_normal((n, 3))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], n)})
    patients = (np.arange(n) // 3).astype(str)
    audit = audit_subgroups(p, y, df, class_names=["W", "N", "R"], groups=patients, n_boot=30)
    assert audit.threshold is None and audit.columns[0].fairness is None
    metrics = audit.columns[0].subgroups[0].metrics
    assert {"sensitivity:W", "weighted_f1", "mcc", "auroc"} <= set(metrics)
    assert metrics["auroc"].ci_low <= metrics["auroc"].value <= metrics["auroc"].ci_high
