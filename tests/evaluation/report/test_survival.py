"""Survival blocks of the report: Kaplan-Meier curves of risk groups with a log-rank p,
calibration at a horizon, and the C-index against the missing rate."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from omnifuse.evaluation.documents import RobustnessDocument
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, report_style
from omnifuse.evaluation.report.robustness_plots import pattern_blocks, robustness_curve_blocks
from omnifuse.evaluation.report.survival import (
    calibration_points,
    group_curves,
    kaplan_meier,
    logrank_p,
    risk_groups,
    survival_blocks,
    survival_samples,
)
from tests.evaluation.report.conftest import robustness_doc

RATE = 0.01  # baseline hazard per day


def survival_details(rng, n_folds=3, n=90, skill=1.0):
    """Per-sample details as details.json holds them; predictions follow the true model
    (exponential times, hazard RATE * exp(skill * risk)): well calibrated, well ranked."""
    out = {k: [] for k in ("sample_id", "fold", "time", "event", "risk", "survival")}
    folds = []
    for f in range(n_folds):
        risk = rng.standard_normal(n)
        hazard = RATE * np.exp(skill * risk)
        event_time = rng.exponential(1 / hazard)
        censor = rng.uniform(0, 300, n)
        time, event = np.minimum(event_time, censor), event_time <= censor
        horizons = [float(h) for h in np.quantile(time[event], [0.25, 0.5, 0.75])]
        folds.append(
            {"label": f"fold {f}", "horizons": horizons, "risk_median": float(np.median(rng.standard_normal(200)))}
        )
        out["sample_id"] += [f"s{f}-{i}" for i in range(n)]
        out["fold"] += [f] * n
        out["time"] += time.tolist()
        out["event"] += event.tolist()
        out["risk"] += risk.tolist()
        out["survival"] += np.exp(-hazard[:, None] * np.array(horizons)[None, :]).tolist()
    return {"time_unit": "days", "folds": folds, **out}


def cohort_of(methods, robustness=None):
    details = SimpleNamespace(task="survival", methods={k: SimpleNamespace(survival=v) for k, v in methods.items()})
    return Cohort("surv", "surv", None, robustness, details)  # type: ignore[arg-type]


def test_risk_groups_split_each_repeat():
    samples = survival_samples(survival_details(np.random.default_rng(0)))
    two = risk_groups(samples, 2)
    for f, fold in enumerate([0, 1, 2]):
        rows = samples.fold == fold
        cut = samples.risk_median[f]
        assert np.array_equal(two[rows], (samples.risk[rows] > cut).astype(int))
    three = risk_groups(samples, 3)
    assert set(np.bincount(three)) == {90}  # tertiles of each repeat's 90 test samples
    for f in range(3):
        rows = samples.fold == f
        assert samples.risk[rows][three[rows] == 2].min() > samples.risk[rows][three[rows] == 0].max()


def test_risk_groups_fall_back_to_the_test_median():
    raw = survival_details(np.random.default_rng(1), n_folds=1)
    raw["folds"][0].pop("risk_median")
    groups = risk_groups(survival_samples(raw), 2)
    assert np.bincount(groups).tolist() == [45, 45]


def test_kaplan_meier_and_log_rank():
    km = kaplan_meier(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, False]))
    assert km.at(0.5) == 1.0 and km.at(1.0) == pytest.approx(0.75) and km.at(3.5) == pytest.approx(0.375)
    assert km.low is not None and np.all(km.low <= km.survival + 1e-12)
    samples = survival_samples(survival_details(np.random.default_rng(2), skill=1.5))
    curves = group_curves(samples, 2)
    assert curves.names == ("low risk", "high risk") and curves.pvalue < 1e-4
    low, high = curves.curves
    assert high.at(100.0) < low.at(100.0)
    assert sum(n for n, _ in curves.counts) == len(samples)
    noise = survival_samples(survival_details(np.random.default_rng(3), skill=0.0))
    assert group_curves(noise, 2).pvalue > 0.001
    assert logrank_p(np.ones(4), np.zeros(4, bool), np.array([0, 0, 1, 1])) is None  # no event
    assert logrank_p(np.ones(4), np.ones(4, bool), np.zeros(4, int)) is None  # one group


def test_calibration_of_the_true_model_is_close_to_the_diagonal():
    samples = survival_samples(survival_details(np.random.default_rng(4), n=150))
    points = calibration_points(samples)
    assert len(points) == 9 and {p.group for p in points} == {0, 1, 2}
    assert all(p.horizon == samples.horizons[p.fold][1] for p in points)  # the middle horizon
    assert np.mean([abs(p.predicted - p.observed) for p in points]) < 0.08
    by_group = [np.mean([p.predicted for p in points if p.group == g]) for g in range(3)]
    assert by_group == sorted(by_group, reverse=True)  # group 0: highest predicted survival


def test_survival_blocks_render_figures():
    rng = np.random.default_rng(5)
    cohort = cohort_of({"concat": survival_details(rng), "attention": survival_details(rng, n=20)})
    with report_style():
        blocks = survival_blocks(cohort, Palette(["concat", "attention"]))
    assert [b.key for b in blocks] == ["km", "survival-calibration"]
    assert all("data:image/png;base64," in b.body for b in blocks)
    assert "above or below the median predicted risk" in blocks[0].body  # small folds: 2 groups


def test_survival_blocks_skip_what_they_cannot_show():
    palette = Palette([])
    assert survival_blocks(cohort_of({}), palette) == []
    broken = survival_details(np.random.default_rng(6))
    broken["risk"] = broken["risk"][:-1]  # inconsistent lengths
    assert survival_blocks(cohort_of({"m": broken}), palette) == []
    classification = Cohort("c", "c", None, None, SimpleNamespace(task="binary", methods={}))  # type: ignore[arg-type]
    assert survival_blocks(classification, palette) == []


def test_c_index_against_missing_rate():
    doc = robustness_doc(np.random.default_rng(7), "survival")
    text = (
        json.dumps(doc).replace('"auroc"', '"c_index"').replace('"macro_f1"', '"uno_c"').replace('"accuracy"', '"ibs"')
    )
    rob = RobustnessDocument.model_validate(json.loads(text))
    cohort = Cohort("surv", "surv", None, rob, None)
    with report_style():
        blocks = robustness_curve_blocks(cohort, Palette(list(rob.methods))) + pattern_blocks(cohort, Palette([]))
    assert [b.key for b in blocks] == ["missing", "noise", "patterns"]
    assert "C-index on the test samples as a growing fraction" in blocks[0].body


def test_report_of_a_survival_robustness_sweep(tmp_path):
    from omnifuse.evaluation.report import build_report

    doc = robustness_doc(np.random.default_rng(8), "survival")
    text = (
        json.dumps(doc).replace('"auroc"', '"c_index"').replace('"macro_f1"', '"uno_c"').replace('"accuracy"', '"ibs"')
    )
    (tmp_path / "robustness.json").write_text(text)
    html = build_report(tmp_path).read_text()
    assert "Robustness to missing modalities" in html and "C-index" in html and "Uno&#39;s C" in html
