"""Bundles of survival models: the readout is saved and restored, risks and curves reload exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import DataError
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.serving.bundle import write_manifest
from omnifuse.serving.cohort import placeholder_labels, without_labels
from omnifuse.training.fit import SplitContext, fit

FAST = {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8, "batch_size": 32}
MODALITIES = [
    SimModality("clin", "tabular", 8, 0.9, missing_rate=0.1),
    SimModality("omx", "omics", 24, 0.5, missing_rate=0.5),
    SimModality("ts", "timeseries", 3, 0.4, missing_rate=0.2),
]


@pytest.fixture(scope="module")
def survival():
    ds, _ = make_lowquality(MODALITIES, task="survival", n_samples=160, seed=0)
    train, val, _ = train_val_test_indices(ds, 0.2, 0.2, seed=0)
    return SplitContext(ds, train, val)


def assert_same_survival(fitted, bundle):
    ds = fitted.context.dataset
    index = np.arange(len(ds))
    again = bundle.fitted(ds)
    assert again.readout == fitted.readout
    horizons = fitted.readout.horizons
    assert np.array_equal(fitted.predict_risk(index), again.predict_risk(index))
    assert np.array_equal(fitted.predict_survival(index, horizons), again.predict_survival(index, horizons))
    assert np.array_equal(fitted.predict_proba(index), again.predict_proba(index))


@pytest.mark.parametrize(
    "name, options",
    [
        ("concat", {}),
        ("concat", {"survival_head": "logistic_hazard", "survival_bins": 6}),
        ("attention", {}),
        ("concat", {"ensemble": 2}),
        ("concat", {"ensemble": 2, "survival_head": "logistic_hazard", "survival_bins": 6}),
    ],
    ids=["cox", "logistic-hazard", "attention", "ensemble-cox", "ensemble-logistic-hazard"],
)
def test_survival_bundle_reloads_exactly(survival, tmp_path, name, options):
    fitted = fit(name, survival, {**FAST, **options})
    path = save_bundle(fitted, tmp_path / "b", metrics={"c_index": 0.7})
    info = json.loads((path / "bundle.json").read_text())
    assert info["task"] == "survival" and info["class_names"] == [] and info["time_unit"] == "days"
    assert info["survival"] == fitted.readout.to_dict()
    assert info["survival"]["head"] == options.get("survival_head", "cox")
    bundle = load_bundle(path)
    assert bundle.schema == survival.dataset.schema and bundle.schema.time_unit == "days"
    assert bundle.readout == fitted.readout
    assert_same_survival(fitted, bundle)


def test_survival_bundle_predicts_on_unlabelled_data(survival, tmp_path):
    fitted = fit("concat", survival, FAST)
    bundle = load_bundle(save_bundle(fitted, tmp_path / "b"))
    ds = survival.dataset
    labels = placeholder_labels(bundle.schema, 3)
    assert labels.task == "survival" and labels.time_unit == "days" and not labels.event.any()
    bare = without_labels(ds, bundle.schema)
    index = np.arange(len(ds))
    assert np.array_equal(bundle.fitted(bare).predict_risk(index), fitted.predict_risk(index))


def test_survival_bundle_refuses_other_tasks_and_units(survival, tmp_path):
    from omnifuse.data import Labels

    fitted = fit("concat", survival, FAST)
    bundle = load_bundle(save_bundle(fitted, tmp_path / "b"))
    ds = survival.dataset
    months = ds.replace(labels=Labels.survival(ds.labels.time, ds.labels.event, "months"))
    with pytest.raises(DataError, match="survival time unit days vs months"):
        bundle.fitted(months)
    binary = ds.replace(labels=Labels("binary", np.zeros(len(ds), dtype=np.int64), ("a", "b")))
    with pytest.raises(DataError, match="task survival vs binary"):
        bundle.fitted(binary)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda i: i.pop("survival"), "field 'survival'"),
        (lambda i: i.pop("time_unit"), "field 'time_unit'"),
        (lambda i: i.update(class_names=["a", "b"]), "field 'class_names'"),
        (lambda i: i["survival"].update(head="weibull"), "survival.head"),
        (lambda i: i["survival"].update(baseline_hazard=[0.1]), "survival.baseline_hazard"),
        (lambda i: i.update(task="binary", class_names=["a", "b"]), "field 'survival'"),
    ],
    ids=["no-readout", "no-unit", "classes", "head", "baseline", "not-survival"],
)
def test_malformed_survival_bundle_is_refused(survival, tmp_path, edit, message):
    fitted = fit("concat", survival, {**FAST, "max_epochs": 1})
    path = save_bundle(fitted, tmp_path / "b")
    info = json.loads((path / "bundle.json").read_text())
    edit(info)
    (path / "bundle.json").write_text(json.dumps(info))
    write_manifest(path)
    with pytest.raises(DataError, match=message):
        load_bundle(path)


@pytest.mark.parametrize("name", ["cox", "rsf"])
def test_survival_baseline_bundle_reloads_exactly(survival, tmp_path, name):
    """scikit-survival baselines (readout head "estimator": curves from the estimator)."""
    from omnifuse.errors import ConfigError
    from omnifuse.models.registry import get_model

    try:
        get_model(name)
    except ConfigError:
        pytest.skip(f"model '{name}' is not registered here (it comes with the scikit-survival baselines)")
    fitted = fit(name, survival, {})
    path = save_bundle(fitted, tmp_path / "b")
    info = json.loads((path / "bundle.json").read_text())
    assert info["weights"] == "skops" and info["survival"]["head"] == "estimator"
    assert_same_survival(fitted, load_bundle(path))
