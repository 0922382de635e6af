"""Robustness sweeps on constructed predictors whose behaviour under corruption is known."""

import numpy as np
import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.evaluation.conditions import plan_conditions
from omnifuse.evaluation.robustness import RobustnessSweep, effective_robustness, relative_robustness
from omnifuse.training.fit import SplitContext, fit


@pytest.fixture(scope="module")
def cohort():
    ds, _ = default_cohort(3, seed=0, n_samples=400)
    return ds


@pytest.fixture(scope="module")
def trained(cohort):
    idx = np.arange(len(cohort))
    train, test = idx[:264], idx[264:]
    context = SplitContext(cohort, train[:230], train[230:])
    models = {name: fit(name, context, {"max_epochs": 4}) for name in ("concat", "sk-logreg")}
    return models, test


def _curve(values):
    return {f"{k:.1f}" if k else "0.0": {"auroc": {"mean": v}} for k, v in values.items()}


def test_relative_and_effective_robustness_by_hand():
    flat = {
        "missing": {
            "a": {"0.0": {"auroc": {"mean": 0.9}}, "0.5": {"auroc": {"mean": 0.9}}, "1.0": {"auroc": {"mean": 0.9}}}
        }
    }
    drop = {
        "missing": {
            "a": {"0.0": {"auroc": {"mean": 1.0}}, "0.5": {"auroc": {"mean": 0.8}}, "1.0": {"auroc": {"mean": 0.6}}}
        }
    }
    for doc in (flat, drop):
        for level in doc["missing"]["a"].values():
            level.update(
                {
                    m: {"mean": 0.5}
                    for m in ("auprc", "accuracy", "balanced_accuracy", "macro_f1", "kappa", "brier", "ece")
                }
            )
    assert relative_robustness(flat)["missing"]["a"]["auroc"] == pytest.approx(0.9)
    assert relative_robustness(drop)["missing"]["a"]["auroc"] == pytest.approx(0.8)  # trapezoid mean
    er = effective_robustness(flat, drop)
    assert er["missing"]["a"]["auroc"] == pytest.approx(0.2)  # drops 0 where the baseline drops 0.2 on average
    assert er["overall"]["auroc"] == pytest.approx(0.2)
    assert effective_robustness(drop, drop)["missing"]["a"]["auroc"] == pytest.approx(0.0)


def test_sweep_document_schema_and_monotone_degradation(cohort, trained):
    models, test = trained
    sweep = RobustnessSweep(
        cohort,
        plan_conditions(cohort, noise_levels={"gaussian": (1.0, 4.0)}),
        draws=2,
        seed=0,
        bootstrap=True,
        n_boot=50,
    )
    sweep.evaluate(models, test)
    doc = sweep.document(baseline="concat")
    assert doc.baseline == "concat" and doc.levels.missing[0] == 0.0
    for name in models:
        m = doc.methods[name]
        clean = m.clean["auroc"].mean
        assert m.missing["any"]["0.0"]["auroc"].mean == clean
        assert set(m.missing) == {*cohort.modalities, "any"}
        assert list(m.missing["any"]) == ["0.0"] + [f"0.{k}" for k in range(1, 10)]
        cell = m.missing["any"]["0.5"]["auroc"]
        assert cell.ci_low <= cell.mean <= cell.ci_high
        # "notes" is the simulator's uninformative modality: alone it is far below the clean score
        assert m.patterns["notes"]["auroc"].mean < clean - 0.1
        assert m.noise["ehr"]["gaussian"]["4.0"]["auroc"].mean < clean
        assert set(m.patterns) == {
            "ehr",
            "notes",
            "vitals",
            "ehr+notes",
            "ehr+vitals",
            "notes+vitals",
            "ehr+notes+vitals",
        }
        assert m.relative_robustness.overall["auroc"] < clean
    assert doc.methods["concat"].effective_robustness.overall["auroc"] == pytest.approx(0.0)
    assert doc.pattern_counts["ehr+notes+vitals"] == len(test)


def test_corruptions_are_paired_and_reproducible(cohort, trained):
    models, test = trained
    conditions = plan_conditions(cohort, missing_rates=(0.0, 0.6), noise_levels={}, patterns=False)
    docs = []
    for _ in range(2):
        sweep = RobustnessSweep(cohort, conditions, draws=1, seed=3)
        sweep.evaluate(models, test)
        sweep.evaluate(models, test)
        docs.append(sweep.document())
    a, b = (d.methods["concat"].missing["any"]["0.6"]["auroc"].mean for d in docs)
    assert a == b
    # two repeats give a Student-t interval
    assert docs[0].repeats == 2 and "Student-t" in docs[0].interval


def test_pattern_without_samples_is_undefined_not_an_error(cohort, trained):
    models, test = trained
    only_ehr = cohort.select_modalities(["ehr", "notes"])
    sub = only_ehr.subset(np.flatnonzero(only_ehr.mask[:, 0] & ~only_ehr.mask[:, 1]))  # nobody has notes
    context = SplitContext(sub, np.arange(len(sub) // 2))
    model = {"concat": fit("concat", context, {"max_epochs": 1})}
    sweep = RobustnessSweep(sub, plan_conditions(sub, missing_rates=(0.0,), noise_levels={}), draws=1)
    sweep.evaluate(model, np.arange(len(sub)))
    doc = sweep.document()
    assert doc.methods["concat"].patterns["notes"]["auroc"].mean is None  # undefined: None in memory, null in JSON
    assert doc.pattern_counts["notes"] == 0


# ---------------------------------------------------------------------- conformal sets
@pytest.fixture(scope="module")
def conformal_trained():
    """A larger cohort (the Mondrian thresholds need validation samples per pattern): concat
    and sk-logreg with temperature and 90% sets, and sk-logreg without sets."""
    ds, _ = default_cohort(3, seed=0, n_samples=1000)
    idx = np.random.default_rng(0).permutation(len(ds))
    context = SplitContext(ds, idx[:500], idx[500:750])
    sets = {"calibrate": "temperature", "conformal": 0.9}
    models = {
        "concat": fit("concat", context, {"max_epochs": 4} | sets),
        "sk-logreg": fit("sk-logreg", context, sets),
        "plain": fit("sk-logreg", context, {}),
    }
    return ds, models, idx[750:]


def test_conformal_coverage_and_set_size_under_every_condition(conformal_trained):
    ds, models, test = conformal_trained
    conditions = plan_conditions(ds, missing_rates=(0.0, 0.5, 0.9), noise_levels={"gaussian": (2.0,)})
    sweep = RobustnessSweep(ds, conditions, draws=2, seed=0, bootstrap=True, n_boot=100)
    sweep.evaluate(models, test)
    doc = sweep.document(baseline="concat")
    assert doc.methods["plain"].conformal is None and "coverage" not in doc.methods["plain"].clean
    for name in ("concat", "sk-logreg"):
        m = doc.methods[name]
        assert m.conformal == 0.9
        cells = [m.clean, *m.patterns.values()]
        cells += [c for curve in m.missing.values() for c in curve.values()]
        cells += [c for kinds in m.noise.values() for curve in kinds.values() for c in curve.values()]
        assert len(cells) == 1 + 7 + 4 * 3 + 3 * 2
        for cell in cells:
            cov, size = cell["coverage"], cell["set_size"]
            assert 0.0 <= cov.ci_low <= cov.mean <= cov.ci_high <= 1.0
            assert 1.0 <= size.ci_low <= size.mean <= size.ci_high <= 2.0  # non-empty sets of 2 classes
        # exchangeable clean test samples: coverage near the target (250 samples: +-0.04)
        assert 0.85 <= m.clean["coverage"].mean <= 0.97
        clean_size = m.clean["set_size"].mean
        # without ehr and vitals (the informative modalities) the model knows less: larger sets
        assert m.patterns["notes"]["set_size"].mean > clean_size + 0.3
        assert m.missing["any"]["0.9"]["set_size"].mean > clean_size
        # the summaries stay the task's metrics
        assert "coverage" not in m.relative_robustness.overall
    # the console table reads the same document
    from omnifuse.cli.output import print_conformal_robustness

    print_conformal_robustness(doc)


def test_dropped_modalities_get_the_threshold_of_their_new_pattern(conformal_trained):
    from omnifuse.data.corrupt import DropPattern, apply_corruptions
    from omnifuse.evaluation.conditions import CLEAN, Condition

    ds, models, test = conformal_trained
    model = models["sk-logreg"]
    condition = Condition(("patterns", "notes"), (DropPattern(("notes",)),), random=False)
    sweep = RobustnessSweep(ds, [Condition(CLEAN, (), random=False), condition], draws=1)
    sweep.evaluate({"sk-logreg": model}, test)
    got = sweep.document().methods["sk-logreg"].patterns["notes"]
    data = apply_corruptions(ds.subset(test), condition.corruptions, np.random.default_rng(0))
    data = data.subset(np.flatnonzero(data.mask.any(axis=1)))
    probs = model.on_samples(data).predict_proba(np.arange(len(data)))
    assert "notes" in model.conformal.patterns  # the pattern has its own threshold
    own = model.conformal.predict_sets(probs, data.pattern_names())
    assert got["coverage"].mean == pytest.approx(float(own[np.arange(len(data)), data.y].mean()))
    assert got["set_size"].mean == pytest.approx(float(own.sum(axis=1).mean()))
    # the patients' original patterns would give other (smaller) sets
    before = model.conformal.predict_sets(probs, ds.pattern_names()[test][ds.subset(test).mask[:, 1]])
    assert before.sum(axis=1).mean() < own.sum(axis=1).mean()


def test_conformal_cells_over_repeats_get_student_t_intervals(conformal_trained):
    ds, models, test = conformal_trained
    sweep = RobustnessSweep(ds, plan_conditions(ds, missing_rates=(0.0, 0.9), noise_levels={}), draws=1)
    halves = np.array_split(test, 2)
    for half in halves:  # two repeats, e.g. two folds
        sweep.evaluate({"sk-logreg": models["sk-logreg"]}, half)
    cell = sweep.document().methods["sk-logreg"].missing["any"]["0.9"]["coverage"]
    assert "Student-t" in sweep.document().interval
    assert cell.ci_low < cell.mean < cell.ci_high <= 1.0
    per_half = []
    for k, half in enumerate(halves):
        one = RobustnessSweep(ds, plan_conditions(ds, missing_rates=(0.0, 0.9), noise_levels={}), draws=1)
        one.n_repeats = k  # the same corruption draws as repeat k above
        one.evaluate({"sk-logreg": models["sk-logreg"]}, half)
        per_half.append(one.document().methods["sk-logreg"].missing["any"]["0.9"]["coverage"].mean)
    assert cell.mean == pytest.approx(np.mean(per_half))
