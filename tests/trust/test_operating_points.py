"""Operating points: rule parsing, threshold choice on validation data, metrics and intervals."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from omnifuse.errors import ConfigError
from omnifuse.trust.operating_points import (
    BINARY_METRICS,
    binary_metric_fns,
    multiclass_metric_fns,
    choose_threshold,
    operating_point_intervals,
    operating_point_metrics,
    parse_rule,
)


def _scores(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    logit = 1.5 * (2 * y - 1) + rng.standard_normal(n)
    return 1 / (1 + np.exp(-logit)), y


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("youden", "youden", None),
        ("F1", "f1", None),
        ("sens=0.9", "sens", 0.9),
        ("spec = 0.85", "spec", 0.85),
        ("0.3", "fixed", 0.3),
        (0.25, "fixed", 0.25),
    ],
)
def test_rules_parse(text, kind, value):
    rule = parse_rule(text)
    assert (rule.kind, rule.value) == (kind, value)
    assert parse_rule(str(rule)) == rule


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("1.2", "a fixed threshold must be in (0, 1)"),
        ("0", "a fixed threshold must be in (0, 1)"),
        ("sens=1.5", "the target must be in (0, 1)"),
        ("spec=abc", "'abc' is not a number"),
        ("youdn", "unknown rule"),
        ("ppv=0.9", "unknown rule"),
    ],
)
def test_bad_rules_are_one_line_config_errors(text, fragment):
    with pytest.raises(ConfigError) as err:
        parse_rule(text)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert f"'{text}'" in str(err.value)


def test_youden_maximises_j_over_every_candidate():
    p, y = _scores()
    thr = choose_threshold(p, y)
    assert thr == choose_threshold(np.stack([1 - p, p], axis=1), y)  # (n, 2) accepted too

    candidates = np.unique(p)[:, None]
    j = ((p >= candidates) & (y == 1)).sum(1) / y.sum() - ((p >= candidates) & (y == 0)).sum(1) / (1 - y).sum()
    m = operating_point_metrics(p, y, thr)
    assert m["sensitivity"] + m["specificity"] - 1 == pytest.approx(j.max())
    assert thr in set(p.tolist())


def test_f1_rule_maximises_f1():
    p, y = _scores(seed=1)
    thr = choose_threshold(p, y, "f1")
    pred = p >= np.unique(p)[:, None]
    tp = (pred & (y == 1)).sum(1)
    best = np.max(2 * tp / (pred.sum(1) + y.sum()))
    assert operating_point_metrics(p, y, thr)["f1"] == pytest.approx(best)


def test_sensitivity_and_specificity_targets():
    p, y = _scores(seed=2)
    thr = choose_threshold(p, y, "sens=0.9")
    m = operating_point_metrics(p, y, thr)
    assert m["sensitivity"] >= 0.9
    higher = np.unique(p)[np.unique(p) > thr]
    assert operating_point_metrics(p, y, higher[0])["sensitivity"] < 0.9  # the highest threshold that reaches it
    thr = choose_threshold(p, y, "spec=0.9")
    assert operating_point_metrics(p, y, thr)["specificity"] >= 0.9
    lower = np.unique(p)[np.unique(p) < thr]
    assert operating_point_metrics(p, y, lower[-1])["specificity"] < 0.9


def test_fixed_threshold_is_returned_as_is():
    p, y = _scores()
    assert choose_threshold(p, y, "0.3") == 0.3


def test_single_class_validation_is_a_config_error():
    with pytest.raises(ConfigError, match="needs both classes"):
        choose_threshold(np.array([0.2, 0.7]), np.array([1, 1]))


def test_binary_metrics_match_sklearn_and_counts():
    p, y = _scores(seed=3)
    m = operating_point_metrics(p, y, 0.4)
    pred = p >= 0.4
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred))
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, ~pred))
    assert m["ppv"] == pytest.approx(skm.precision_score(y, pred))
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert m["tp"] + m["fn"] == y.sum() and m["tn"] + m["fp"] == (1 - y).sum()
    # the numpy callables used by the bootstrap give the same numbers
    two = np.stack([1 - p, p], axis=1)
    for fn in binary_metric_fns(0.4):
        assert fn(two, y) == pytest.approx(m[fn.__name__])


def test_undefined_values_are_nan_not_errors():
    m = operating_point_metrics(np.array([0.1, 0.2]), np.array([0, 0]), 0.5)
    assert np.isnan(m["sensitivity"]) and np.isnan(m["ppv"]) and m["specificity"] == 1.0


def test_multiclass_metrics_at_argmax():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    logits = 2.0 * np.eye(3)[y] + rng.standard_normal((300, 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    m = operating_point_metrics(p, y, class_names=["a", "b", "c"])
    assert set(m["sensitivity"]) == {"a", "b", "c"}
    assert m["sensitivity"]["b"] == pytest.approx(skm.recall_score(y, p.argmax(1), average=None)[1])
    assert m["weighted_f1"] == pytest.approx(skm.f1_score(y, p.argmax(1), average="weighted"))
    with pytest.raises(ConfigError, match="argmax"):
        operating_point_metrics(p, y, 0.5)
    assert m["mcc"] == pytest.approx(skm.matthews_corrcoef(y, p.argmax(1)))
    for fn in multiclass_metric_fns(["a", "b", "c"]):  # the bootstrap's numpy versions agree
        name = fn.__name__
        expected = m["sensitivity"][name.split(":")[1]] if ":" in name else m[name]
        assert fn(p, y) == pytest.approx(expected), name
    ci = operating_point_intervals(p, y, n_boot=200, class_names=["a", "b", "c"])
    assert {"sensitivity:a", "weighted_f1", "mcc"} <= set(ci)
    assert ci["mcc"]["ci_low"] < m["mcc"] < ci["mcc"]["ci_high"]


def test_intervals_contain_the_point_and_narrow_with_more_patients():
    p, y = _scores(n=200, seed=4)
    small = operating_point_intervals(p, y, 0.5, n_boot=300)
    assert set(small) == set(BINARY_METRICS)
    for name, r in small.items():
        assert r["ci_low"] <= r["value"] <= r["ci_high"], name
    p2, y2 = _scores(n=2000, seed=4)
    large = operating_point_intervals(p2, y2, 0.5, n_boot=300)
    width = {k: small[k]["ci_high"] - small[k]["ci_low"] for k in small}
    assert all(large[k]["ci_high"] - large[k]["ci_low"] < width[k] for k in small)


def test_patient_bootstrap_is_wider_when_stays_are_duplicated():
    """Four identical stays per patient carry the information of one: resampling patients
    keeps the interval honest, resampling stays would shrink it by about half."""
    p, y = _scores(n=150, seed=5)
    p4, y4 = np.repeat(p, 4), np.repeat(y, 4)
    patients = np.repeat(np.arange(150), 4).astype(str)
    by_patient = operating_point_intervals(p4, y4, 0.5, groups=patients, n_boot=300)
    by_stay = operating_point_intervals(p4, y4, 0.5, n_boot=300)
    once = operating_point_intervals(p, y, 0.5, n_boot=300)
    s = "sensitivity"
    w = {k: r[s]["ci_high"] - r[s]["ci_low"] for k, r in (("patient", by_patient), ("stay", by_stay), ("once", once))}
    assert w["stay"] < 0.75 * w["patient"]
    assert w["patient"] == pytest.approx(w["once"], rel=0.35)
    assert by_patient[s]["value"] == pytest.approx(once[s]["value"])
