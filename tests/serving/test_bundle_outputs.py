"""A bundle keeps a model's temperature and conformal calibration, and refuses tampered ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import DataError
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.serving.bundle import write_manifest
from omnifuse.training.fit import SplitContext, fit


@pytest.fixture(scope="module")
def calibrated(sim_dataset, tmp_path_factory):
    train, val, test = train_val_test_indices(sim_dataset, 0.25, 0.2, seed=0)
    config = {"max_epochs": 2, "embed_dim": 8, "calibrate": "temperature", "conformal": 0.8}
    fitted = fit("concat", SplitContext(sim_dataset, train, val), config)
    path = save_bundle(fitted, tmp_path_factory.mktemp("calibrated") / "bundle")
    return fitted, path, test


def test_temperature_and_sets_reload_exactly(calibrated, sim_dataset):
    fitted, path, test = calibrated
    bundle = load_bundle(path)
    assert bundle.calibration == fitted.calibration
    assert bundle.conformal.to_dict() == fitted.conformal.to_dict()
    again = bundle.fitted(sim_dataset)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))
    np.testing.assert_array_equal(again.raw_proba(test), fitted.raw_proba(test))
    np.testing.assert_array_equal(again.predict_sets(test), fitted.predict_sets(test))
    info = json.loads((path / "bundle.json").read_text())
    assert info["trainer"]["conformal"] == 0.8 and info["calibration"]["method"] == "temperature"


def test_a_bundle_without_them_has_none(sim_run):
    bundle = load_bundle(sim_run / "bundle")
    assert bundle.calibration is None and bundle.conformal is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("calibration", {"method": "temperature", "temperature": -1.0}, "field 'calibration'"),
        ("calibration", {"method": "platt", "temperature": 1.0}, "field 'calibration'.*unknown method"),
        ("conformal", {"coverage": 0.9}, "field 'conformal'.*malformed"),
        ("conformal", "n_classes=5", "field 'conformal'.*5 classes"),
    ],
)
def test_tampered_fields_are_one_line_errors(calibrated, tmp_path, field, value, message):
    _, path, _ = calibrated
    copy = tmp_path / "bundle"
    copy.mkdir()
    for f in path.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    info = json.loads((copy / "bundle.json").read_text())
    if value == "n_classes=5":
        info[field]["n_classes"] = 5
    else:
        info[field] = value
    (copy / "bundle.json").write_text(json.dumps(info))
    write_manifest(copy)
    with pytest.raises(DataError, match=message) as err:
        load_bundle(copy)
    assert "\n" not in str(err.value)
