"""`--threshold` and `--subgroups` through the real entry point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import default_cohort
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    ds, _ = default_cohort(3, seed=2, n_samples=200)
    folder = write_folder(ds, tmp_path_factory.mktemp("cohort") / "c")
    labels = pd.read_csv(folder / "labels.csv")
    rng = np.random.default_rng(0)
    labels["sex"] = rng.choice(["F", "M"], size=len(labels))
    labels.to_csv(folder / "labels.csv", index=False)
    return folder


def test_benchmark_reports_operating_points(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(cohort_dir), "--models", "sk-logreg",
        "--folds", "2", "--threshold", "spec=0.8", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    point = json.loads((out / "results.json").read_text())["methods"]["sk-logreg"]["operating_point"]
    assert point["rule"] == "spec=0.8" and len(point["thresholds"]) == 2
    assert {"sensitivity", "specificity", "ppv", "npv", "f1", "mcc"} <= set(point["metrics"])
    assert "sk-logreg at spec=0.8 on validation" in stdout


@pytest.mark.parametrize(
    ("option", "message"),
    [("1.5", "must be in (0, 1)"), ("sens=high", "'high' is not a number"), ("best", "unknown rule")],
)
def test_benchmark_bad_threshold_is_one_line_and_writes_nothing(
    cohort_dir, tmp_path, monkeypatch, capsys, option, message
):
    out = tmp_path / "bench"
    code, _, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(cohort_dir), "--models", "sk-logreg",
        "--threshold", option, "--out", str(out),
    )  # fmt: skip
    assert code != 0 and "--threshold:" in err and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_train_stores_the_validation_threshold_and_predict_uses_it(cohort_dir, tmp_path, monkeypatch, capsys):
    from omnifuse.data.loaders import load_dataset
    from omnifuse.data.splits import holdout_indices
    from omnifuse.serving import load_bundle
    from omnifuse.trust.operating_points import choose_threshold

    out = tmp_path / "run"
    code, stdout, err = run(
        monkeypatch, capsys, "train", "--data", str(cohort_dir), "--model", "sk-logreg",
        "--threshold", "sens=0.9", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    info = json.loads((out / "run.json").read_text())["threshold"]
    assert info["rule"] == "sens=0.9" and info["chosen_on"] == "validation"
    bundle = load_bundle(out / "bundle")
    assert bundle.info["threshold"] == pytest.approx(info["value"])
    ds = load_dataset(cohort_dir)
    _, val = holdout_indices(
        ds, np.arange(len(ds)), bundle.config.trainer.val_fraction, seed=bundle.config.trainer.seed
    )
    probs = bundle.fitted(ds).predict_proba(val)
    assert info["value"] == pytest.approx(choose_threshold(probs, ds.y[val], "sens=0.9"))
    pred = tmp_path / "pred.json"
    code, _, err = run(monkeypatch, capsys, "predict", "--run", str(out), "--data", str(cohort_dir), "--out", str(pred))
    assert code == 0, err
    doc = json.loads(pred.read_text())
    assert doc["threshold"] == pytest.approx(info["value"])
    positive = ds.class_names[1]
    for answer in doc["predictions"]:
        assert (answer["predicted_class"] == positive) == (answer["probabilities"][positive] >= doc["threshold"])


def test_train_bad_threshold_writes_nothing(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, _, err = run(
        monkeypatch, capsys, "train", "--data", str(cohort_dir), "--model", "sk-logreg",
        "--threshold", "0", "--out", str(out),
    )  # fmt: skip
    assert code != 0 and "--threshold: operating point '0'" in err and "in (0, 1)" in err
    assert "Traceback" not in err and not out.exists()
