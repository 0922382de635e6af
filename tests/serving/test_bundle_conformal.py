"""A bundle stores the temperature and the conformal thresholds: the loaded bundle answers
the very same sets as the model it was saved from."""

from __future__ import annotations

import numpy as np

from omnifuse.data.simulate import make_lowquality
from omnifuse.data.splits import holdout_indices
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.serving.answers import Predictor
from omnifuse.training.fit import SplitContext, fit

from .conformal_runs import cohort_modalities


def test_bundle_round_trips_sets_bit_identically(tmp_path):
    ds, _ = make_lowquality(cohort_modalities(), n_samples=300, seed=1)
    train, val = holdout_indices(ds, np.arange(len(ds)), 0.2, seed=0)
    config = {"max_epochs": 2, "conformal": 0.9, "calibrate": "temperature", "embed_dim": 8}
    fitted = fit("omnifuse", SplitContext(ds, train, val), config)
    assert fitted.conformal is not None and fitted.calibration is not None
    assert len(fitted.conformal.patterns) >= 2  # own thresholds besides the pooled one
    save_bundle(fitted, tmp_path / "bundle")
    bundle = load_bundle(tmp_path / "bundle")

    assert bundle.calibration == fitted.calibration
    assert bundle.conformal == fitted.conformal  # every threshold, float for float
    index = np.arange(len(ds))
    loaded = bundle.fitted(ds)
    before, after = fitted.predict_sets(index), loaded.predict_sets(index)
    assert before.shape == (len(ds), 2) and before.sum(axis=1).max() == 2  # not all singletons
    np.testing.assert_array_equal(after, before)
    q_before, own_before = fitted.conformal.quantiles(ds.pattern_names(), len(ds))
    q_after, own_after = bundle.conformal.quantiles(ds.pattern_names(), len(ds))
    np.testing.assert_array_equal(q_after, q_before)
    np.testing.assert_array_equal(own_after, own_before)
    assert own_before.any() and not own_before.all()
    # the answers of the loaded bundle carry exactly those sets
    answers = Predictor(bundle).answers(ds)
    classes = list(ds.class_names)
    np.testing.assert_array_equal(np.array([[c in a["prediction_set"] for c in classes] for a in answers]), before)
    np.testing.assert_array_equal([a["conformal"]["threshold"] for a in answers], q_before)
