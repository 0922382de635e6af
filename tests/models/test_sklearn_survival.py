"""cox and rsf: scikit-survival baselines on flat features of a simulated survival cohort."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.schema import DatasetSchema
from omnifuse.data.simulate import default_cohort, make_lowquality
from omnifuse.data.splits import holdout_indices
from omnifuse.errors import ConfigError, DataError
from omnifuse.models import get_model
from omnifuse.models.sklearn_survival import SurvivalBaseline
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.serving.bundle import _checked_estimator
from omnifuse.serving.weights import SKOPS_ALLOWED, load_skops, save_skops
from omnifuse.survival import harrell_c
from omnifuse.training.fit import SplitContext, fit
from omnifuse.tuning.space import compose_space, lowest, nest

#: The survival models, trained here by name (tests/test_completeness.py checks the list).
NAMES = ("cox", "rsf")
#: Small forests keep the tests fast (the defaults are scikit-survival's 100 trees).
FAST = {"cox": {}, "rsf": {"model": {"n_estimators": 20}}}


@pytest.fixture(scope="module")
def cohort() -> tuple[MultimodalDataset, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """400 simulated patients (three tabular modalities, some absent), a held-out quarter,
    their flat features and the simulator's true risk."""
    ds, truth = make_lowquality(3, n_samples=400, task="survival", risk_strength=2.0, seed=0)
    train, test = holdout_indices(ds, np.arange(len(ds)), 0.25, seed=0)
    return ds, train, test, SplitContext(ds, train).flat(), truth.risk


def build(name: str, ds: MultimodalDataset | DatasetSchema, **options: object) -> SurvivalBaseline:
    entry = get_model(name)
    config = entry.config_class.load({"model": {**FAST[name].get("model", {}), **options}}, name)
    model = entry.build(ds, config)
    assert isinstance(model, SurvivalBaseline)
    return model


@pytest.fixture(scope="module")
def fitted(cohort) -> dict[str, SurvivalBaseline]:
    ds, train, _, x, _ = cohort
    return {name: build(name, ds).fit(x[train], ds.y[train], seed=0) for name in NAMES}


def c_index(ds: MultimodalDataset, index: np.ndarray, risk: np.ndarray) -> float:
    return harrell_c(ds.labels.time[index], ds.labels.event[index], risk)


@pytest.mark.parametrize("name", NAMES)
def test_registered_as_survival_baselines(name):
    entry = get_model(name)
    assert entry.kind == "baseline" and not entry.neural and not entry.uses_encoders
    assert entry.model_class is not None and entry.model_class.tasks == ("survival",)
    assert "Pölsterl 2020, scikit-survival: A Library for Time-to-Event Analysis" in entry.paper
    assert "JMLR" in entry.paper
    if name == "rsf":
        assert entry.paper.startswith("Ishwaran et al. 2008, Random survival forests (Ann. Appl. Stat.)")


@pytest.mark.parametrize("name", NAMES)
def test_held_out_risk_ranks_the_outcomes(cohort, fitted, name):
    ds, _, test, x, true_risk = cohort
    risk = fitted[name].predict_proba(x[test])
    assert risk.shape == (len(test), 1) and risk.dtype == np.float64 and np.isfinite(risk).all()
    c = c_index(ds, test, risk[:, 0])
    assert c > 0.7, c  # chance is 0.5; the true risk reaches ~0.86 on these samples
    assert c <= c_index(ds, test, true_risk[test]) + 0.02


@pytest.mark.parametrize("name", NAMES)
def test_survival_curves_are_probabilities_falling_in_time(cohort, fitted, name):
    ds, train, test, x, _ = cohort
    model = fitted[name]
    times = np.linspace(0.0, 1.2 * ds.labels.time[train].max(), 60)
    surv = model.predict_survival(x[test], times)
    assert surv.shape == (len(test), len(times)) and surv.dtype == np.float64
    assert np.all((surv >= 0) & (surv <= 1))
    assert np.all(np.diff(surv, axis=1) <= 0)  # non-increasing in time
    assert np.all(surv[:, -1] < surv[:, 0])  # and it does fall
    # a higher risk score means lower survival, here at the median follow-up
    middle = model.predict_survival(x[test], [np.median(ds.labels.time[train])])[:, 0]
    risk = model.predict_proba(x[test])[:, 0]
    assert np.corrcoef(risk, middle)[0, 1] < -0.5


@pytest.mark.parametrize("name", NAMES)
def test_times_outside_the_training_times_are_clipped(cohort, fitted, name):
    ds, train, test, x, _ = cohort
    model = fitted[name]
    grid = model.estimator.unique_times_
    inside = model.predict_survival(x[test], [grid[0], grid[-1]])
    outside = model.predict_survival(x[test], [-5.0, 1e12])
    np.testing.assert_array_equal(outside, inside)
    # unsorted times, and each time between two training times takes the earlier one's value
    between = (grid[10] + grid[11]) / 2
    surv = model.predict_survival(x[test], [grid[11], between, grid[10]])
    np.testing.assert_array_equal(surv[:, 1], surv[:, 2])
    with pytest.raises(DataError, match="survival times must be finite"):
        model.predict_survival(x[test], [np.nan])


@pytest.mark.parametrize("name", NAMES)
def test_a_cohort_without_events_is_a_clear_error(cohort, name):
    ds, train, _, x, _ = cohort
    y = ds.y[train].copy()
    y["event"] = False
    with pytest.raises(DataError) as info:
        build(name, ds).fit(x[train], y)
    message = str(info.value)
    assert message == f"{name}: no event among the {len(train)} training samples (all censored); cannot fit"


@pytest.mark.parametrize("name", NAMES)
def test_a_single_event_still_fits(cohort, name):
    ds, train, test, x, _ = cohort
    y = ds.y[train].copy()
    y["event"] = False
    y["event"][np.argsort(y["time"])[len(y) // 3]] = True
    model = build(name, ds).fit(x[train], y, seed=1)
    assert np.isfinite(model.predict_proba(x[test])).all()
    surv = model.predict_survival(x[test], np.linspace(0, y["time"].max(), 20))
    assert np.all((surv >= 0) & (surv <= 1)) and np.all(np.diff(surv, axis=1) <= 0)
    assert model.n_params() > 0


@pytest.mark.parametrize("name", NAMES)
def test_inputs_must_be_flat_features_and_survival_records(cohort, fitted, name):
    ds, train, test, x, _ = cohort
    with pytest.raises(DataError, match=rf"{name}: features \({len(train)}, {x.shape[1] - 1}\) should be"):
        build(name, ds).fit(x[train][:, 1:], ds.y[train])
    with pytest.raises(DataError, match=f"should be \\(n, {x.shape[1]}\\): the flat features of modalities m0, m1, m2"):
        fitted[name].predict_proba(x[test][:, 1:])
    assert fitted[name].predict_proba(x[:0]).shape == (0, 1)
    assert fitted[name].predict_survival(x[:0], [1.0, 2.0]).shape == (0, 2)
    with pytest.raises(DataError, match=f"{name}: targets must be survival"):
        build(name, ds).fit(x[train], ds.y["event"][train].astype(np.int64))
    with pytest.raises(DataError, match=f"{name}: 3 survival targets for {len(train)} samples"):
        build(name, ds).fit(x[train], ds.y[:3])


def test_a_classification_task_is_refused():
    binary = DatasetSchema.of(default_cohort(3, seed=0, n_samples=40)[0])
    for name in NAMES:
        with pytest.raises(ConfigError, match=f"model '{name}' does not support binary tasks"):
            build(name, binary)


def test_the_forest_follows_the_seed(cohort):
    ds, train, test, x, _ = cohort
    a, b, c = (build("rsf", ds).fit(x[train], ds.y[train], seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.predict_proba(x[test]), b.predict_proba(x[test]))
    assert not np.array_equal(a.predict_proba(x[test]), c.predict_proba(x[test]))
    assert a.estimator.random_state == 3 and a.estimator.n_jobs == 1


def test_options_reach_the_estimators(cohort):
    ds, train, _, x, _ = cohort
    forest = build("rsf", ds, n_estimators=7, min_samples_leaf=9, max_features=0.5).fit(x[train], ds.y[train])
    est = forest.estimator
    assert (len(est.estimators_), est.min_samples_leaf, est.max_features) == (7, 9, 0.5)
    assert forest.n_params() == sum(t.tree_.node_count for t in est.estimators_)
    cox = build("cox", ds, alpha=30.0).fit(x[train], ds.y[train])
    assert cox.estimator.alpha == 30.0 and cox.n_params() == x.shape[1]
    weak = build("cox", ds, alpha=0.1).fit(x[train], ds.y[train])
    assert np.abs(cox.estimator.coef_).sum() < np.abs(weak.estimator.coef_).sum()  # more shrinkage


def test_invalid_options_are_config_errors():
    config_class = get_model("rsf").config_class
    for bad, key in (({"max_features": 1.5}, "max_features"), ({"max_features": "half"}, "max_features")):
        with pytest.raises(ConfigError, match=key):
            config_class.load({"model": bad}, "rsf")
    with pytest.raises(ConfigError, match="alpha"):
        get_model("cox").config_class.load({"model": {"alpha": 0}}, "cox")


@pytest.mark.parametrize("name", NAMES)
def test_search_space_is_valid_and_every_corner_builds(cohort, name):
    ds, train, _, x, _ = cohort
    entry = get_model(name)
    space = compose_space(entry, ds)  # checks every spec and key
    assert set(space) == set(entry.space) and all(k.startswith("model.") for k in space)
    expected = {"cox": {"model.alpha"}, "rsf": {"model.n_estimators", "model.min_samples_leaf", "model.max_features"}}
    assert set(space) == expected[name]
    corners = [lowest(space)]
    if name == "rsf":
        corners += [{**lowest(space), "model.max_features": c} for c in space["model.max_features"]["choices"]]
    rows = train[:120]
    for corner in corners:
        config = entry.config_class.load(nest(corner), name)
        model = entry.build(ds, config)
        if name == "rsf":  # the options as sampled, on a few trees to stay fast
            model.config = entry.config_class.load(nest({**corner, "model.n_estimators": 3}), name)
        model.fit(x[rows], ds.y[rows])
        assert np.isfinite(model.predict_proba(x[train[-5:]])).all()


# ---------------------------------------------------------------------- bundles (skops)
def test_skops_needs_exactly_the_allow_listed_sksurv_types(fitted, tmp_path):
    import skops.io as sio

    needed = set()
    for name, model in fitted.items():
        save_skops(model.estimator, tmp_path / f"{name}.skops")
        untrusted = set(sio.get_untrusted_types(file=str(tmp_path / f"{name}.skops")))
        assert untrusted <= SKOPS_ALLOWED, untrusted - SKOPS_ALLOWED
        needed |= untrusted
    survival_types = {t for t in SKOPS_ALLOWED if t.startswith("sksurv.") or t == "sklearn.tree._tree.Tree"}
    assert survival_types <= needed  # nothing allow-listed for them that they do not use


@pytest.mark.parametrize("name", NAMES)
def test_estimator_reloads_exactly_without_pickle(cohort, fitted, tmp_path, monkeypatch, name):
    """save_skops/load_skops and the bundle loader's shape check, with unpickling refused."""
    ds, train, test, x, _ = cohort
    model = fitted[name]
    path = tmp_path / "model.skops"
    save_skops(model.estimator, path)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for attr in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, attr, refuse)
    again = build(name, ds.schema)  # as load_bundle rebuilds it: from the schema and config
    again.estimator = _checked_estimator(load_skops(path), again, path)
    times = np.linspace(0.0, ds.labels.time[train].max(), 25)
    rows = np.concatenate([test, train[:20]])
    np.testing.assert_array_equal(again.predict_proba(x[rows]), model.predict_proba(x[rows]))
    np.testing.assert_array_equal(again.predict_survival(x[rows], times), model.predict_survival(x[rows], times))
    assert again.n_params() == model.n_params()


@pytest.mark.parametrize("name", NAMES)
def test_trained_run_reloads_from_a_bundle_exactly(cohort, tmp_path, name):
    """The full path: fit (the trainer), save_bundle, load_bundle, predictions on the cohort."""
    ds, train, test, _, _ = cohort
    fitted = fit(name, SplitContext(ds, train), FAST[name])
    assert isinstance(fitted.model, SurvivalBaseline) and fitted.readout is not None
    bundle = load_bundle(save_bundle(fitted, tmp_path / "b"))
    assert bundle.info["weights"] == "skops" and bundle.info["n_params"] == fitted.n_params()
    again = bundle.fitted(ds)
    times = np.linspace(0.0, ds.labels.time[train].max(), 25)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))
    np.testing.assert_array_equal(again.predict_risk(test), fitted.predict_risk(test))
    np.testing.assert_array_equal(again.predict_survival(test, times), fitted.predict_survival(test, times))
    np.testing.assert_array_equal(
        fitted.predict_risk(test), fitted.model.predict_proba(SplitContext(ds, train).flat()[test])[:, 0]
    )


def test_the_bundle_check_refuses_another_estimator(cohort, fitted, tmp_path):
    ds, train, _, x, _ = cohort
    cox, rsf = build("cox", ds.schema), build("rsf", ds.schema)
    assert cox.accepts(fitted["cox"].estimator) and not cox.accepts(fitted["rsf"].estimator)
    assert rsf.accepts(fitted["rsf"].estimator) and not rsf.accepts(fitted["cox"].estimator)
    narrow = cox.make_estimator().fit(x[train][:, :-1], ds.y[train])  # one feature fewer than the schema gives
    assert not cox.accepts(narrow)
    with pytest.raises(DataError, match="holds a CoxPHSurvivalAnalysis, not what 'rsf' expects"):
        _checked_estimator(fitted["cox"].estimator, rsf, tmp_path / "model.skops")
