"""Subgroup audits through a benchmark (SubgroupCollector) and per-subgroup survival metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from omnifuse.data import Labels
from omnifuse.data.simulate import make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.evaluation.survival_metrics import SurvivalPredictions
from omnifuse.trust.subgroup_benchmark import SubgroupCollector, check_subgroup_task
from omnifuse.trust.subgroups import audit_subgroups, audit_survival_subgroups


def planted_cohort(n: int = 300, seed: int = 0, **options):
    """A cohort whose subgroup "noisy" (a third of it) has its labels shuffled: no model can
    rank its samples, so its AUROC is near 0.5 while the rest is near 1."""
    ds, _ = make_lowquality(3, n_samples=n, seed=seed, **options)
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(len(ds)) < 1 / 3, "noisy", "clean")
    y = ds.y.copy()
    noisy = np.flatnonzero(group == "noisy")
    y[noisy] = rng.permutation(y[noisy])
    ds = ds.replace(labels=Labels("binary", y, ds.class_names))
    sex = rng.choice(["F", "M"], size=len(ds)).astype(object)
    sex[:4] = None  # a missing value is a subgroup of its own
    return ds, pd.DataFrame({"quality": group, "sex": sex})


@pytest.fixture(scope="module")
def kfold_audit():
    ds, frame = planted_cohort()
    collector = SubgroupCollector(ds, frame, "youden")
    results = collector.apply(run_benchmark(ds, ["sk-logreg"], folds=3, on_repeat=collector.add))
    return ds, results


def test_kfold_counts_add_up_to_the_cohort_and_values_come_per_fold(kfold_audit):
    ds, results = kfold_audit
    audit = results.methods["sk-logreg"].subgroups
    assert audit is not None and audit.rule == "youden" and "over folds" in audit.ci
    quality, sex = audit.columns
    assert [s.level for s in quality.subgroups] == ["clean", "noisy"]
    assert [s.level for s in sex.subgroups] == ["(missing)", "F", "M"]
    for column in audit.columns:
        assert sum(s.n for s in column.subgroups) == len(ds)
        for k, name in enumerate(ds.class_names):
            assert sum(s.class_counts[name] for s in column.subgroups) == int(np.sum(ds.y == k))
    clean = quality.subgroups[0].metrics
    assert {"auroc", "brier", "sensitivity", "specificity", "mcc"} <= set(clean)
    assert len(clean["auroc"].values) == 3  # one value per fold
    assert clean["auroc"].ci_low <= clean["auroc"].mean <= clean["auroc"].ci_high


def test_the_planted_subgroup_shows_the_largest_gap(kfold_audit):
    _, results = kfold_audit
    quality = results.methods["sk-logreg"].subgroups.columns[0]
    gap = quality.gaps["auroc"]
    assert gap.lowest == "noisy" and gap.highest == "clean" and gap.gap > 0.2
    assert quality.subgroups[1].metrics["auroc"].mean < 0.7
    eo = quality.equalized_odds_difference
    assert eo is not None and len(eo.values) == 3 and 0.0 <= eo.mean <= 1.0
    assert set(quality.rates) == {"clean", "noisy"} and "true_positive_rate" in quality.rates["clean"]


def test_tiny_subgroups_are_audited_but_left_out_of_gaps_and_fairness(kfold_audit):
    _, results = kfold_audit
    sex = results.methods["sk-logreg"].subgroups.columns[1]
    missing = sex.subgroups[0]
    assert missing.level == "(missing)" and missing.n == 4 and "brier" in missing.metrics
    assert all("(missing)" not in (g.highest, g.lowest) for g in sex.gaps.values())
    assert any("fewer than 10 samples" in note for note in sex.notes)


def test_audit_min_size_drops_small_subgroups_from_the_differences():
    rng = np.random.default_rng(2)
    y = np.r_[rng.integers(0, 2, 100), [0, 1, 0]]
    probs = np.clip(0.4 * y + 0.6 * rng.random(103), 0, 1)
    probs[-3:] = [0.9, 0.1, 0.9]  # three samples decided all wrong
    frame = pd.DataFrame({"site": ["a"] * 50 + ["b"] * 50 + ["tiny"] * 3})
    loose = audit_subgroups(probs, y, frame, threshold=0.5, n_boot=0)
    strict = audit_subgroups(probs, y, frame, threshold=0.5, n_boot=0, min_size=10)
    assert loose.columns[0].gaps["accuracy"].lowest == "tiny"
    assert strict.columns[0].gaps["accuracy"].lowest in ("a", "b")
    fair = strict.columns[0].fairness
    assert fair.too_small == ["tiny"] and "tiny" in fair.excluded
    assert fair.equalized_odds_difference < loose.columns[0].fairness.equalized_odds_difference
    assert [s.level for s in strict.columns[0].subgroups] == ["a", "b", "tiny"]


def test_results_document_round_trips_the_audit(kfold_audit, tmp_path):
    from omnifuse.evaluation.documents import read_results, write_document

    _, results = kfold_audit
    write_document(tmp_path / "results.json", results)
    back = read_results(tmp_path / "results.json")
    assert back.methods["sk-logreg"].subgroups == results.methods["sk-logreg"].subgroups


def test_fixed_test_split_bootstraps_each_seed():
    ds, frame = planted_cohort(n=240, test_fraction=0.4)
    collector = SubgroupCollector(ds, frame[["quality"]], "f1", n_boot=50)
    results = collector.apply(
        run_benchmark(ds, ["sk-logreg"], seeds=2, test_split="test", n_boot=20, on_repeat=collector.add)
    )
    audit = results.methods["sk-logreg"].subgroups
    assert audit.rule == "f1" and "bootstrap" in audit.ci
    (quality,) = audit.columns
    test = ds.split_indices("test")
    assert sum(s.n for s in quality.subgroups) == len(test)
    auroc = quality.subgroups[0].metrics["auroc"]
    assert len(auroc.values) == 2 and auroc.ci_low < auroc.ci_high
    eo = quality.equalized_odds_difference
    assert len(eo.values) == 2 and eo.ci_low is not None and eo.ci_low < eo.ci_high  # bootstrapped per seed


def test_fairness_intervals_match_fairlearn_on_the_full_sample():
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    from omnifuse.trust.subgroup_benchmark import fairness_intervals

    rng = np.random.default_rng(4)
    n = 400
    levels = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    decided = np.where(levels == "c", rng.random(n) < 0.5, y == 1).astype(np.int64)  # c decides at random
    decided[rng.random(n) < 0.1] ^= 1
    eo = equalized_odds_difference(y, decided, sensitive_features=levels)
    dp = demographic_parity_difference(y, decided, sensitive_features=levels)
    bounds = fairness_intervals(y, decided, levels, n_boot=300, seed=0)
    low, high = bounds["equalized_odds_difference"]
    assert low < eo < high and high - low < 0.4
    low, high = bounds["demographic_parity_difference"]
    assert low < dp < high
    # patients with several samples are drawn whole: one patient per pair of samples
    pairs = np.repeat(np.arange(n // 2), 2)
    assert fairness_intervals(y, decided, levels, pairs, n_boot=50) != bounds


def test_n_boot_zero_gives_the_bootstrap_values_without_intervals():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 80)
    probs = np.clip(0.3 * y + 0.7 * rng.random(80), 0, 1)
    frame = pd.DataFrame({"site": rng.choice(["a", "b"], 80)})
    full = audit_subgroups(probs, y, frame, threshold=0.5, n_boot=20)
    bare = audit_subgroups(probs, y, frame, threshold=0.5, n_boot=0)
    for a, b in zip(full.columns[0].subgroups, bare.columns[0].subgroups):
        for metric in ("auroc", "brier", "sensitivity", "mcc"):
            assert b.metrics[metric].value == pytest.approx(a.metrics[metric].value)
            assert np.isnan(b.metrics[metric].ci_low)


def _survival_predictions(n: int = 160, seed: int = 0) -> tuple[SurvivalPredictions, pd.DataFrame]:
    """Risk equal to the truth in subgroup "good", pure noise in "bad"."""
    rng = np.random.default_rng(seed)
    risk_true = rng.standard_normal(n)
    time = rng.exponential(np.exp(-risk_true)) * 10
    event = rng.random(n) < 0.7
    group = np.where(np.arange(n) % 2 == 0, "good", "bad")
    risk = np.where(group == "good", risk_true, rng.standard_normal(n))
    horizons = np.quantile(time[event], [0.25, 0.5, 0.75])
    grid = np.linspace(np.quantile(time[event], 0.1), np.quantile(time[event], 0.9), 8)
    at = np.concatenate([horizons, grid])
    curves = np.exp(-np.exp(risk)[:, None] * at[None, :] / 10)
    pred = SurvivalPredictions(
        time=time, event=event, risk=risk, horizons=horizons, horizon_survival=curves[:, :3], brier_times=grid,
        brier_survival=curves[:, 3:], train_time=time, train_event=event, groups=np.arange(n).astype(str),
    )  # fmt: skip
    return pred, pd.DataFrame({"fit": group})


def test_survival_audit_gives_the_c_index_per_subgroup():
    pred, frame = _survival_predictions()
    audit = audit_survival_subgroups(pred, frame, n_boot=30)
    assert audit.task == "survival" and audit.threshold is None
    (column,) = audit.columns
    bad, good = column.subgroups
    assert (bad.level, good.level) == ("bad", "good")
    assert bad.n + good.n == len(pred)
    assert good.class_counts["events"] + bad.class_counts["events"] == int(pred.event.sum())
    assert good.metrics["c_index"].value > 0.65 and abs(bad.metrics["c_index"].value - 0.5) < 0.15
    assert good.metrics["c_index"].ci_low <= good.metrics["c_index"].value <= good.metrics["c_index"].ci_high
    assert np.isnan(good.metrics["ibs"].ci_low) and np.isfinite(good.metrics["ibs"].value)
    assert {"uno_c", "time_auc", "ibs"} <= set(good.metrics)
    assert column.gaps["c_index"].lowest == "bad" and column.fairness is None
    with pytest.raises(ConfigError, match="subgroup column 'ward' not found"):
        audit_survival_subgroups(pred, frame, columns=["ward"], n_boot=5)


def test_survival_benchmark_collects_per_subgroup_c_index():
    ds, truth = make_lowquality(3, task="survival", n_samples=150, seed=0)
    frame = pd.DataFrame({"site": truth.site.astype(str)})
    collector = SubgroupCollector(ds, frame)
    results = collector.apply(run_benchmark(ds, ["cox"], folds=2, on_repeat=collector.add))
    (site,) = results.methods["cox"].subgroups.columns
    assert sum(s.n for s in site.subgroups) == len(ds)
    assert sum(s.class_counts["events"] for s in site.subgroups) == int(ds.y["event"].sum())
    assert all(len(s.metrics["c_index"].values) == 2 for s in site.subgroups)
    assert "c_index" in site.gaps and site.equalized_odds_difference is None


def test_multilabel_has_no_subgroup_audit():
    with pytest.raises(ConfigError, match="--subgroups: not supported for multilabel"):
        check_subgroup_task("multilabel")


def test_multiclass_benchmark_scores_subgroups_at_the_argmax():
    ds, truth = make_lowquality(3, n_classes=3, n_samples=240, seed=1)
    collector = SubgroupCollector(ds, pd.DataFrame({"site": truth.site.astype(str)}), "youden")
    results = collector.apply(run_benchmark(ds, ["sk-logreg"], folds=2, on_repeat=collector.add))
    audit = results.methods["sk-logreg"].subgroups
    assert audit.rule is None
    (site,) = audit.columns
    assert sum(s.n for s in site.subgroups) == len(ds)
    assert {"auroc", "weighted_f1", f"sensitivity:{ds.class_names[0]}"} <= set(site.subgroups[0].metrics)
    assert site.equalized_odds_difference is None and site.rates == {}
