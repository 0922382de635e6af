"""Training survival models: both heads, every neural fusion family, ensembles, censoring."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.simulate import make_lowquality
from omnifuse.data.splits import holdout_indices
from omnifuse.errors import ConfigError
from omnifuse.survival import harrell_c
from omnifuse.training.fit import SplitContext, fit, resolve_monitor

FAST = {"max_epochs": 25, "patience": 25, "embed_dim": 16, "head_hidden": 16}


@pytest.fixture(scope="module")
def cohort():
    ds, truth = make_lowquality(3, task="survival", n_samples=300, seed=0)
    order = np.random.default_rng(0).permutation(len(ds))
    test, rest = order[:80], order[80:]
    train, val = holdout_indices(ds, rest, 0.25, seed=0)
    return ds, truth, SplitContext(ds, train, val), test


def c_index(ds, index, risk) -> float:
    return harrell_c(ds.y["time"][index], ds.y["event"][index], risk)


@pytest.mark.parametrize(
    "name, extra",
    [
        ("concat", {}),
        ("concat", {"survival_head": "logistic_hazard", "survival_bins": 8}),
        ("attention", {}),
        ("late", {}),
    ],
)
def test_survival_models_rank_held_out_patients(cohort, name, extra):
    ds, truth, ctx, test = cohort
    fitted = fit(name, ctx, {**FAST, **extra})
    assert fitted.config.trainer.monitor == "val_cindex"
    risk = fitted.predict_risk(test)
    assert np.isfinite(risk).all()
    assert c_index(ds, test, risk) > 0.6  # the truth reaches ~0.7 on this cohort
    curves = fitted.predict_survival(test, fitted.readout.horizons)
    assert curves.shape == (len(test), len(fitted.readout.horizons))
    assert ((curves >= 0) & (curves <= 1)).all() and (np.diff(curves, axis=1) <= 1e-12).all()
    # higher risk, lower survival at every horizon (Cox: exactly; logistic hazard: on average)
    high, low = np.argmax(risk), np.argmin(risk)
    assert (curves[high] <= curves[low]).all()


def test_logistic_hazard_bins_come_from_training_events_and_size_the_head(cohort):
    ds, _, ctx, _ = cohort
    fitted = fit("concat", ctx, {**FAST, "max_epochs": 2, "survival_head": "logistic_hazard", "survival_bins": 6})
    edges = np.asarray(fitted.readout.edges)
    train_events = ds.y["time"][ctx.train][ds.y["event"][ctx.train]]
    assert edges[0] == 0 and edges[-1] == pytest.approx(train_events.max())
    assert fitted.model.n_classes == len(edges) - 1 == fitted.config.model.survival_bins


def test_ensemble_members_share_the_intervals_and_get_one_readout(cohort):
    ds, _, ctx, test = cohort
    fitted = fit("concat", ctx, {**FAST, "max_epochs": 3, "ensemble": 2, "survival_head": "logistic_hazard"})
    assert fitted.readout.head == "logistic_hazard"
    assert fitted.predict_survival(test, fitted.readout.horizons).shape == (len(test), 3)


def test_one_event_among_censored_trains_and_monitor_falls_back(cohort):
    ds, _, _, _ = cohort
    y = ds.y.copy()
    y["event"] = False
    y["event"][0] = True
    one_event = ds.replace(labels=type(ds.labels).survival(y["time"], y["event"], "days"))
    train = np.arange(0, 200)
    val = np.arange(200, 260)  # no event in validation: early stopping watches the loss
    assert resolve_monitor("auto", one_event, val) == "val_loss"
    fitted = fit("concat", SplitContext(one_event, train, val), {**FAST, "max_epochs": 2})
    assert np.isfinite(fitted.predict_risk(np.arange(260, 300))).all()


def test_classification_monitors_are_refused_for_survival(cohort):
    ds, _, ctx, _ = cohort
    with pytest.raises(ConfigError, match="for classification"):
        resolve_monitor("val_auroc", ds, ctx.val)
    binary, _ = make_lowquality(2, n_samples=60, seed=1)
    with pytest.raises(ConfigError, match="not a survival model"):
        fit("concat", SplitContext(binary, np.arange(50)), {**FAST, "max_epochs": 1}).predict_risk(np.arange(3))
