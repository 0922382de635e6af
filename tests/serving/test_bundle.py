"""Model bundles: exact reload for every kind of model, integrity checks, compatibility."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from omnifuse.data import IrregularSeries, Labels, ModalitySpec
from omnifuse.data.simulate import default_cohort
from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import ConfigError, DataError
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.serving import weights as weights_module
from omnifuse.serving.bundle import write_manifest
from omnifuse.serving.schema import FORMAT_VERSION
from omnifuse.serving.weights import load_torch, save_torch, split_shared
from omnifuse.training.config import split_config
from omnifuse.training.fit import SplitContext, fit
from omnifuse.trust.attributions import AttributionBaselines

NEURAL = ["concat", "omnifuse", "late", "g-blend", "medfuse-lstm", "attention"]
BASELINES = ["sk-logreg", "sk-hgb"]
#: One fast config shared by every model tested here (each takes the keys it owns).
FAST = split_config({"max_epochs": 2, "embed_dim": 8, "head_hidden": 8, "batch_size": 32}, NEURAL + BASELINES + ["sum"])


def context_of(ds, seed=0):
    train, val, _ = train_val_test_indices(ds, 0.2, 0.2, seed=seed)
    return SplitContext(ds, train, val)


@pytest.fixture(scope="module")
def binary():
    """Binary cohort with a tabular, an embedding and an irregular time series (GRU-D) modality."""
    return context_of(default_cohort(3, seed=0, n_samples=120)[0])


@pytest.fixture(scope="module")
def multiclass():
    return context_of(default_cohort(3, seed=0, n_samples=120, n_classes=3, class_weights=None)[0])


@pytest.fixture(scope="module")
def multilabel(multiclass):
    """Three labels, the last one constant (a scikit-learn baseline stores a float for it)."""
    ds = multiclass.dataset
    y = np.stack([ds.y == 0, ds.y == 1, np.zeros(len(ds), bool)], axis=1).astype(np.uint8)
    return context_of(ds.replace(labels=Labels("multilabel", y, ("a", "b", "c"))))


def assert_same_predictions(fitted, bundle):
    ds = fitted.context.dataset
    index = np.arange(len(ds))
    again = bundle.fitted(ds)
    assert np.array_equal(fitted.predict_proba(index), again.predict_proba(index))
    before, after = fitted.predict_details(index), again.predict_details(index)
    assert (before.weights is None) == (after.weights is None)
    if before.weights is not None:
        assert np.array_equal(before.weights, after.weights)
    assert before.modality_probs.keys() == after.modality_probs.keys()
    for m in before.modality_probs:
        assert np.array_equal(before.modality_probs[m], after.modality_probs[m])
    assert np.array_equal(before.imputed, after.imputed)


@pytest.mark.parametrize("name", NEURAL + BASELINES)
def test_reload_is_exact(binary, tmp_path, name):
    fitted = fit(name, binary, FAST[name])
    path = save_bundle(fitted, tmp_path / "b", metrics={"auroc": np.float64(0.75), "brier": float("nan")})
    files = {p.name for p in path.iterdir()}
    weights = "model.skops" if name.startswith("sk-") else "weights.safetensors"
    # attribution baselines: the flat-feature means, or the embedding's ("notes") training mean
    assert files == {"bundle.json", "manifest.json", weights, "baselines.json"}
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary directory left behind
    bundle = load_bundle(path)
    assert bundle.name == name and bundle.config == fitted.config
    stored, expected = bundle.baselines, AttributionBaselines.from_training(fitted)
    assert stored is not None and stored.modalities.keys() == expected.modalities.keys()
    assert (stored.flat is None) == (expected.flat is None)
    if expected.flat is not None:
        np.testing.assert_allclose(stored.flat, expected.flat)
    assert bundle.schema == binary.dataset.schema
    assert bundle.metrics == {"auroc": 0.75, "brier": None}
    assert bundle.info["n_params"] == fitted.n_params() and bundle.info["best_epoch"] == fitted.best_epoch
    if isinstance(bundle.model, nn.Module):
        assert not bundle.model.training
    assert_same_predictions(fitted, bundle)


OTHER_TASKS = [(t, n) for t in ("multiclass", "multilabel") for n in ("concat", "late", "sk-logreg", "sk-hgb")]


@pytest.mark.filterwarnings("ignore:No positive samples in targets")
@pytest.mark.parametrize("task, name", OTHER_TASKS + [("multiclass", "omnifuse")])  # omnifuse: no multilabel
def test_reload_is_exact_for_other_tasks(request, tmp_path, name, task):
    context = request.getfixturevalue(task)
    fitted = fit(name, context, FAST[name])
    bundle = load_bundle(save_bundle(fitted, tmp_path / "b"))
    assert bundle.schema.task == task
    if task == "multilabel" and name.startswith("sk-"):
        assert bundle.model.estimator[2] == 0.0  # the constant label, stored as a float
    assert_same_predictions(fitted, bundle)


def test_transformer_time_series_encoder(binary, tmp_path):
    fitted = fit("concat", binary, {**FAST["concat"], "encoders": {"timeseries": {"type": "transformer"}}})
    assert_same_predictions(fitted, load_bundle(save_bundle(fitted, tmp_path / "b")))


def test_loading_never_unpickles(binary, tmp_path, monkeypatch):
    paths = {name: save_bundle(fit(name, binary, FAST[name]), tmp_path / name) for name in ("concat", "sk-hgb")}

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    for target, attr in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(target, attr, refuse)
    for path in paths.values():
        load_bundle(path)


@pytest.fixture(scope="module")
def saved(binary, tmp_path_factory):
    """A concat and an sk-hgb bundle; tests copy them before damaging them."""
    root = tmp_path_factory.mktemp("bundles")
    return {name: save_bundle(fit(name, binary, FAST[name]), root / name) for name in ("concat", "sk-hgb")}


@pytest.fixture
def copy(saved, tmp_path):
    import shutil

    def make(name="concat"):
        return shutil.copytree(saved[name], tmp_path / name)

    return make


def load_error(path) -> str:
    with pytest.raises(DataError) as info:
        load_bundle(path)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("name, file", [("concat", "weights.safetensors"), ("sk-hgb", "model.skops")])
def test_tampered_file_is_named(copy, name, file):
    path = copy(name)
    data = bytearray((path / file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (path / file).write_bytes(bytes(data))
    assert load_error(path) == f"{path / file}: sha256 does not match manifest.json (file changed or corrupted)"
    (path / file).write_bytes(bytes(data[:-10]))
    assert "bytes but manifest.json says" in load_error(path)


def test_missing_file_and_extra_files(copy, tmp_path):
    path = copy()
    (path / "notes.txt").write_text("an extra file is ignored")
    load_bundle(path)
    (path / "weights.safetensors").unlink()
    assert load_error(path) == f"{path / 'weights.safetensors'}: missing (listed in manifest.json)"
    (path / "manifest.json").unlink()
    assert "not a model bundle (no manifest.json)" in load_error(path)
    assert "no such bundle directory" in load_error(tmp_path / "nowhere")


def test_weights_must_be_covered_by_the_manifest(copy):
    path = copy()
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["files"]["weights.safetensors"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    assert load_error(path) == f"{path / 'manifest.json'}: does not list weights.safetensors"


def edit_info(path, change):
    info = json.loads((path / "bundle.json").read_text())
    change(info)
    (path / "bundle.json").write_text(json.dumps(info))
    write_manifest(path)  # a consistent manifest: only the content is wrong


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda i: i.pop("task"), "field 'task': Field required"),
        (lambda i: i["modalities"][0].update(kind=3), "field 'modalities.0.kind': Input should be a valid string"),
        (lambda i: i["modalities"][0].update(kind="sound"), "modality 'ehr': unknown kind 'sound'"),
        (lambda i: i.update(task="regression"), "unknown task 'regression'"),
        (lambda i: i.update(model="nope"), "cannot rebuild the model (unknown model 'nope'"),
        (lambda i: i["trainer"].update(lr=-1), "cannot rebuild the model"),
        (
            lambda i: i.update(format_version=99),
            f"format_version 99 is newer than this omnifuse reads ({FORMAT_VERSION})",
        ),
        (lambda i: i["scaler"]["ehr"]["std"].pop(), "field 'scaler.ehr': 20 means and 19 stds for 20 features"),
        (lambda i: i["model_config"].update(embed_dim=4), "weights do not fit the model"),
        (lambda i: i.update(weights="skops"), "field 'weights': model 'concat' is stored as safetensors"),
    ],
)
def test_malformed_bundle_json(copy, change, message):
    path = copy()
    edit_info(path, change)
    error = load_error(path)
    assert error.startswith(str(path)) and message in error


def test_not_json(copy):
    path = copy()
    (path / "bundle.json").write_text("{not json")
    write_manifest(path)
    assert "bundle.json: not valid JSON" in load_error(path)


def test_untrusted_skops_types_are_refused(copy, monkeypatch):
    path = copy("sk-hgb")
    monkeypatch.setattr(weights_module, "SKOPS_ALLOWED", frozenset())
    assert "refusing to load untrusted type(s) sklearn.ensemble._hist_gradient_boosting" in load_error(path)


def test_incompatible_data_is_one_error(saved, binary):
    bundle = load_bundle(saved["concat"])
    ds = binary.dataset
    ehr = ds.specs["ehr"]
    names = list(ehr.feature_names)
    names[0] = "age"
    changed = ds.replace(specs={**ds.specs, "ehr": ModalitySpec("ehr", "tabular", names, ehr.shape)})
    changed = changed.select_modalities(["ehr", "vitals"])
    with pytest.raises(DataError) as info:
        bundle.fitted(changed)
    assert str(info.value) == (
        f"data does not match run '{saved['concat']}' (run vs data): "
        "ehr: 1 missing feature (first: ehr_0); ehr: 1 unexpected feature (first: age); "
        "missing modality 'notes'"
    )
    swapped = list(ehr.feature_names)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    reordered = ds.replace(specs={**ds.specs, "ehr": ModalitySpec("ehr", "tabular", swapped, ehr.shape)})
    with pytest.raises(DataError) as info:
        bundle.fitted(reordered)
    assert str(info.value).endswith(
        "ehr: same features in a different order (first difference at position 2: ehr_2 vs ehr_3)"
    )


def test_longer_series_are_accepted(saved, binary):
    """Sequence kinds may have more time steps (padding) than in training."""
    ds = binary.dataset
    series, spec = ds.data["vitals"], ds.specs["vitals"]
    n, steps, channels = series.values.shape
    pad = np.full((n, 5, channels), np.nan, np.float32)
    longer = IrregularSeries(
        np.concatenate([series.values, pad], 1), np.concatenate([series.times, pad[..., 0]], 1), series.lengths
    )
    spec = ModalitySpec("vitals", spec.kind, spec.feature_names, (steps + 5, channels), spec.time_unit)
    padded = ds.replace(specs={**ds.specs, "vitals": spec}, data={**ds.data, "vitals": longer})
    bundle = load_bundle(saved["concat"])
    index = np.arange(len(ds))
    np.testing.assert_allclose(
        bundle.fitted(padded).predict_proba(index), bundle.fitted(ds).predict_proba(index), atol=1e-6
    )


def test_saving_replaces_a_bundle_but_not_other_folders(binary, tmp_path):
    fitted = fit("sum", binary, FAST["sum"])
    path = save_bundle(fitted, tmp_path / "b")
    save_bundle(fitted, path, metrics={"auroc": 0.5})
    assert load_bundle(path).metrics == {"auroc": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    other = tmp_path / "data"
    other.mkdir()
    (other / "keep.csv").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a model bundle"):
        save_bundle(fitted, other)
    assert [p.name for p in other.iterdir()] == ["keep.csv"]


def test_failed_save_leaves_nothing(binary, tmp_path, monkeypatch):
    fitted = fit("sum", binary, FAST["sum"])
    monkeypatch.setattr("omnifuse.serving.bundle.write_manifest", lambda d: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        save_bundle(fitted, tmp_path / "b")
    assert list(tmp_path.iterdir()) == []


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.out = nn.Linear(3, 5, bias=False)
        self.out.weight = self.embed.weight  # tied


def test_tied_weights_are_stored_once(tmp_path):
    model = Tied()
    tensors, aliases = split_shared(model.state_dict())
    assert list(tensors) == ["embed.weight"] and aliases == {"out.weight": "embed.weight"}
    save_torch(model, tmp_path / "w.safetensors")
    again = load_torch(Tied(), tmp_path / "w.safetensors")
    assert torch.equal(again.out.weight, model.embed.weight) and again.out.weight is again.embed.weight


#: The keys a format-1 bundle stored besides the trainer's: every field of the old flat config.
OLD_FLAT = {
    "embed_dim": 64,
    "dropout": 0.1,
    "head_hidden": 64,
    "unimodal_heads": False,
    "unimodal_weight": 0.0,
    "encoders": {},
    "select": {},
    "fusion": {},
    "strategy": {},
    "model": {},
}


def as_format_1(info):
    """``bundle.json`` as omnifuse wrote it before the configs were split (one flat ``config``)."""
    trainer, model = info.pop("trainer"), info.pop("model_config")
    info["config"] = {**OLD_FLAT, **trainer, **model}
    info["format_version"] = 1


@pytest.mark.parametrize("name", ["concat", "sk-hgb"])
def test_a_bundle_of_format_1_still_loads(copy, saved, binary, name):
    path = copy(name)
    edit_info(path, as_format_1)
    old, new = load_bundle(path), load_bundle(saved[name])
    assert old.config == new.config
    index = np.arange(len(binary.dataset))
    assert np.array_equal(
        old.fitted(binary.dataset).predict_proba(index), new.fitted(binary.dataset).predict_proba(index)
    )
    edit_info(path, lambda i: i["config"].update(lr=-1))
    assert "config: key 'lr': Input should be greater than 0" in load_error(path)


def test_bundle_json_stores_the_trainer_and_the_model_config(saved):
    info = json.loads((saved["concat"] / "bundle.json").read_text())
    assert "config" not in info and info["format_version"] == FORMAT_VERSION
    assert set(info["trainer"]) == set(load_bundle(saved["concat"]).config.trainer.model_dump())
    assert info["model_config"]["embed_dim"] == 8 and "lr" not in info["model_config"]
    edit = saved["concat"].parent / "no-config"
    import shutil

    shutil.copytree(saved["concat"], edit)
    edit_info(edit, lambda i: i.pop("trainer"))
    assert "field 'trainer': Field required" in load_error(edit)
