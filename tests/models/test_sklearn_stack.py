"""sk-stack: per-modality logistic regressions stacked on out-of-fold scores."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.data.splits import holdout_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.serving import load_bundle
from omnifuse.serving.bundle import save_bundle
from omnifuse.training.fit import SplitContext, fit


@pytest.fixture(scope="module")
def cohort():
    ds, _ = default_cohort(3, seed=2, n_samples=240)
    pool, test = holdout_indices(ds, np.arange(len(ds)), 0.25, seed=0)
    return ds, SplitContext(ds, pool), test


def test_stacking_beats_chance_and_uses_every_modality(cohort):
    ds, context, test = cohort
    fitted = fit("sk-stack", context)
    est = fitted.model.estimator
    assert set(est["base"]) == set(ds.modalities)
    assert len(est["combiners"]) == 2 ** len(ds.modalities) - 1  # every subset of 3 modalities
    auroc = compute_metrics(fitted.predict_proba(test), ds.y[test], ds.task)["auroc"]
    assert auroc > 0.7


def test_absent_modalities_are_left_out_not_imputed(cohort):
    ds, context, test = cohort
    fitted = fit("sk-stack", context)
    x = context.flat()[test].copy()
    m = len(ds.modalities)
    start, stop = fitted.model.blocks[ds.modalities[0]]
    x[:, -m] = 0.0  # the first modality absent ...
    scrambled = x.copy()
    scrambled[:, start:stop] = np.random.default_rng(0).normal(size=(len(x), stop - start)) * 50
    # ... so whatever its columns hold does not change the answer
    np.testing.assert_allclose(fitted.model.predict_proba(x), fitted.model.predict_proba(scrambled))
    # and the answer is the combiner of the other two modalities
    key = "+".join(ds.modalities[1:])
    assert key in fitted.model.estimator["combiners"]


def test_a_sample_without_any_modality_gets_the_training_prior(cohort):
    ds, context, test = cohort
    fitted = fit("sk-stack", context)
    x = context.flat()[test[:3]].copy()
    x[:, -len(ds.modalities) :] = 0.0
    prior = np.bincount(ds.y[context.train], minlength=2) / len(context.train)
    np.testing.assert_allclose(fitted.model.predict_proba(x), np.tile(prior, (3, 1)))


def test_stacking_bundle_reloads_without_pickle(cohort, tmp_path):
    ds, context, test = cohort
    fitted = fit("sk-stack", context, {"model": {"C": 0.1}})
    save_bundle(fitted, tmp_path / "b")
    again = load_bundle(tmp_path / "b").fitted(ds)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))


def test_stacking_handles_multiclass():
    ds, _ = default_cohort(3, seed=3, n_samples=150, n_classes=3, class_weights=(0.4, 0.3, 0.3))
    pool, test = holdout_indices(ds, np.arange(len(ds)), 0.25, seed=0)
    probs = fit("sk-stack", SplitContext(ds, pool)).predict_proba(test)
    assert probs.shape == (len(test), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)


def test_multiclass_modality_missing_a_class_in_training():
    ds, _ = default_cohort(3, seed=3, n_samples=150, n_classes=3, class_weights=(0.4, 0.3, 0.3))
    j = 0
    mask = ds.mask.copy()
    mask[ds.y == 2, j] = False  # the first modality never seen with class 2
    ds = ds.replace(mask=mask)
    pool, test = holdout_indices(ds, np.arange(len(ds)), 0.25, seed=0)
    probs = fit("sk-stack", SplitContext(ds, pool)).predict_proba(test)
    assert probs.shape == (len(test), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
