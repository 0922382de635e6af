"""Temperature and conformal sets fitted after training, on the validation samples only."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import ConfigError
from omnifuse.training.config import resolve_config
from omnifuse.training.fit import SplitContext, fit
from omnifuse.uncertainty.calibration import nll
from omnifuse.uncertainty.conformal import set_coverage


@pytest.fixture(scope="module")
def cohort():
    """600 samples; the informative modality 'a' is absent for 40% of them."""
    mods = (
        SimModality("a", "tabular", 6, 1.0, missing_rate=0.4),
        SimModality("b", "omics", 8, 0.3, missing_rate=0.0),
    )
    ds, _ = make_lowquality(mods, n_samples=600, seed=1)
    train, val, test = train_val_test_indices(ds, 0.3, 0.3, seed=0)
    return ds, train, val, test


def test_without_the_keys_nothing_is_fitted(cohort):
    ds, train, val, _ = cohort
    fitted = fit("sk-logreg", SplitContext(ds, train, val))
    assert fitted.calibration is None and fitted.conformal is None
    np.testing.assert_array_equal(fitted.predict_proba(val), fitted.raw_proba(val))
    with pytest.raises(ConfigError, match="no conformal calibration"):
        fitted.predict_sets(val)


def test_temperature_is_fitted_on_validation_and_lowers_its_nll(cohort):
    ds, train, val, test = cohort
    # many epochs and no weight decay on 180 samples: an over-confident network
    config = {"max_epochs": 40, "patience": 40, "weight_decay": 0.0, "lr": 5e-3, "calibrate": "temperature"}
    fitted = fit("concat", SplitContext(ds, train, val), config)
    assert fitted.calibration is not None and fitted.calibration.n_samples == len(val)
    raw, calibrated = fitted.raw_proba(val), fitted.predict_proba(val)
    assert not np.allclose(raw, calibrated)
    assert nll(np.log(calibrated), ds.y[val], "binary") <= nll(np.log(raw), ds.y[val], "binary") + 1e-9
    # a temperature keeps the ranking: the argmax and the order of p(class 1)
    order_raw, order_cal = np.argsort(fitted.raw_proba(test)[:, 1]), np.argsort(fitted.predict_proba(test)[:, 1])
    np.testing.assert_array_equal(np.sort(order_raw), np.sort(order_cal))
    np.testing.assert_array_equal(fitted.raw_proba(test).argmax(1), fitted.predict_proba(test).argmax(1))
    assert np.allclose(fitted.predict_details(test).probs, fitted.predict_proba(test), atol=1e-6)


def test_conformal_sets_are_mondrian_by_pattern_and_cover_held_out_samples(cohort):
    ds, train, val, test = cohort
    fitted = fit("sk-logreg", SplitContext(ds, train, val), {"conformal": 0.8, "calibrate": "temperature"})
    conformal = fitted.conformal
    assert conformal is not None and conformal.coverage == 0.8
    patterns = ds.pattern_names()
    observed = {k: v for k, v in conformal.patterns.items() if v["source"] == "observed"}
    assert set(observed) == set(patterns[val])  # both patterns have enough samples
    assert sum(int(v["n"]) for v in observed.values()) == len(val)
    assert conformal.patterns["a"]["source"] == "masked"  # no validation sample lacks 'b' alone
    # the patients without the informative modality are harder: a looser threshold
    assert conformal.patterns["b"]["quantile"] > conformal.patterns["a+b"]["quantile"]
    sets = fitted.predict_sets(test)
    summary = set_coverage(sets, ds.y[test], patterns[test])
    assert summary["coverage"] >= 0.7  # 0.8 target, 180 held-out samples
    assert summary["patterns"]["b"]["mean_size"] > summary["patterns"]["a+b"]["mean_size"]


def test_dropping_a_modality_at_test_time_uses_the_new_pattern(cohort):
    ds, train, val, test = cohort
    fitted = fit("sk-logreg", SplitContext(ds, train, val), {"conformal": 0.8})
    mask = ds.mask.copy()
    mask[:, ds.modalities.index("a")] = False
    dropped = fitted.on_dataset(ds.replace(mask=mask))
    full_size = fitted.predict_sets(test).sum(1).mean()
    assert dropped.predict_sets(test).sum(1).mean() >= full_size
    q, own = dropped.conformal.quantiles(dropped.context.dataset.pattern_names()[test], len(test))
    assert own.all() and np.allclose(q, fitted.conformal.patterns["b"]["quantile"])


def test_ensemble_members_never_train_on_the_calibration_samples(cohort, monkeypatch):
    ds, train, val, _ = cohort
    seen: list[np.ndarray] = []
    import omnifuse.training.ensemble as ensemble

    real = ensemble.fit_one

    def spy(entry, context, run, **kwargs):
        seen.append(np.concatenate([context.train, context.val]))
        return real(entry, context, run, **kwargs)

    monkeypatch.setattr(ensemble, "fit_one", spy)
    fit("concat", SplitContext(ds, train, val), {"max_epochs": 2, "ensemble": 2, "conformal": 0.8})
    assert len(seen) == 2
    assert np.intersect1d(seen[1], val).size == 0  # member 2 carved from the training samples only


@pytest.mark.parametrize(
    ("config", "task", "message"),
    [
        ({"conformal": 0.9}, "survival", "conformal=0.9 gives class sets for binary and multiclass tasks"),
        ({"calibrate": "temperature"}, "survival", "calibrate=temperature is for classification tasks"),
    ],
)
def test_tasks_without_such_outputs_fail_before_training(config, task, message):
    ds, _ = make_lowquality((SimModality("a", "tabular", 4, 1.0),), n_samples=80, seed=0, task=task)
    with pytest.raises(ConfigError, match=message):
        fit("concat", SplitContext(ds, np.arange(60), np.arange(60, 80)), config)


def test_too_few_calibration_samples_and_bad_values_are_one_line_errors(cohort):
    ds, train, val, _ = cohort
    with pytest.raises(ConfigError, match=r"conformal=0.9: .*needs at least 9 calibration samples, got 5"):
        fit("sk-logreg", SplitContext(ds, train, val[:5]), {"conformal": 0.9})
    for bad in (1.5, 0.0):
        with pytest.raises(ConfigError, match="conformal") as err:
            resolve_config("sk-logreg", {"conformal": bad})
        assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="calibrate"):
        resolve_config("sk-logreg", {"calibrate": "platt"})


def test_patterns_never_seen_in_validation_are_calibrated_on_masked_samples():
    mods = (
        SimModality("a", "tabular", 6, 1.0, missing_rate=0.0),
        SimModality("b", "omics", 8, 0.3, missing_rate=0.0),
    )
    ds, _ = make_lowquality(mods, n_samples=600, seed=2)
    train, val, test = train_val_test_indices(ds, 0.3, 0.3, seed=0)
    fitted = fit("sk-logreg", SplitContext(ds, train, val), {"conformal": 0.8})
    stored = fitted.conformal.patterns
    assert stored["a+b"]["source"] == "observed"
    assert stored["a"]["source"] == stored["b"]["source"] == "masked"
    assert stored["b"]["n"] == len(val)
    # without the informative modality the model is less sure: a looser threshold, larger sets
    assert stored["b"]["quantile"] > stored["a+b"]["quantile"]
    mask = ds.mask.copy()
    mask[:, ds.modalities.index("a")] = False
    dropped = fitted.on_dataset(ds.replace(mask=mask))
    sets = dropped.predict_sets(test)
    assert sets.sum(1).mean() > fitted.predict_sets(test).sum(1).mean()
    assert set_coverage(sets, ds.y[test])["coverage"] >= 0.7  # 0.8 target, 180 stays


def test_sets_by_class_reach_the_target_for_each_class(cohort):
    ds, train, val, test = cohort
    config = {"conformal": 0.8, "conformal_by_class": True}
    fitted = fit("sk-logreg", SplitContext(ds, train, val), config)
    conformal = fitted.conformal
    assert conformal.by_class and len(conformal.class_quantiles) == 2
    assert all(len(v["class_quantiles"]) == 2 for v in conformal.patterns.values())
    summary = set_coverage(fitted.predict_sets(test), ds.y[test])
    assert min(c["coverage"] for c in summary["classes"].values()) >= 0.65  # 0.8 target per class
    with pytest.raises(ConfigError, match="conformal_by_class needs a coverage"):
        fit("sk-logreg", SplitContext(ds, train, val), {"conformal_by_class": True})
