"""`omnifuse train` writes RUN_DIR/bundle/, which reloads to the validated model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.data.simulate import default_cohort
from omnifuse.data.splits import holdout_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.serving import load_bundle
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    ds, _ = default_cohort(3, seed=1, n_samples=120)
    return write_folder(ds, tmp_path_factory.mktemp("cohort") / "c")


@pytest.mark.parametrize("model", ["concat", "sk-logreg"])
def test_train_writes_a_loadable_bundle(cohort_dir, tmp_path, monkeypatch, capsys, model):
    out = tmp_path / "run"
    sizes = [] if model.startswith("sk-") else ["--set", "embed_dim=8"]  # baselines own no sizes
    args = [
        "train",
        "--data",
        str(cohort_dir),
        "--model",
        model,
        "--set",
        "max_epochs=2",
        *sizes,
        "--modalities",
        "ehr,vitals",
        "--out",
        str(out),
    ]
    code, _, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    assert summary["bundle"] == "bundle"
    assert (out / "checkpoints" / "last.ckpt").exists() or model.startswith("sk-")
    bundle = load_bundle(out / summary["bundle"])
    assert bundle.name == model and bundle.schema.modalities == ("ehr", "vitals")
    assert bundle.config.flat() == summary["config"]
    assert bundle.metrics == pytest.approx(summary["validation"])
    # the reloaded model reproduces the validation metrics of the run
    ds = load_dataset(cohort_dir).select_modalities(["ehr", "vitals"])
    ds = ds.subset(ds.mask.any(axis=1))
    _, val = holdout_indices(
        ds, np.arange(len(ds)), bundle.config.trainer.val_fraction, seed=bundle.config.trainer.seed
    )
    assert compute_metrics(bundle.fitted(ds).predict_proba(val), ds.y[val], ds.task) == bundle.metrics
