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
    site = pd.DataFrame({"sample_id": labels["sample_id"], "site": rng.choice(["north", "south"], size=len(labels))})
    site.to_csv(folder / "subgroups.csv", index=False)  # not a modality
    return folder


@pytest.fixture(scope="module")
def trained(cohort_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    mp = pytest.MonkeyPatch()
    import sys

    from omnifuse.cli.app import main

    args = ["train", "--data", str(cohort_dir), "--model", "sk-logreg", "--threshold", "0.3", "--out", str(out)]
    mp.setattr(sys, "argv", ["omnifuse", *args])
    try:
        main()
    except SystemExit as exc:
        assert not exc.code
    mp.undo()
    return out


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


def test_evaluate_uses_the_bundle_threshold_and_audits_subgroups(cohort_dir, trained, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval.json"
    code, stdout, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(trained), "--data", str(cohort_dir),
        "--subgroups", "sex,site", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert set(doc["metrics"]) >= {"auroc"}  # the existing sections are unchanged
    point = doc["operating_point"]
    assert point["threshold"] == 0.3 and point["source"].startswith("bundle (0.3")
    sens = point["metrics"]["sensitivity"]
    assert sens["ci_low"] <= sens["value"] <= sens["ci_high"]
    audit = doc["subgroups"]
    assert audit["threshold"] == 0.3 and [c["column"] for c in audit["columns"]] == ["sex", "site"]
    sex = audit["columns"][0]
    assert [s["level"] for s in sex["subgroups"]] == ["F", "M"]
    assert sum(s["n"] for s in sex["subgroups"]) == audit["n"] == doc["n_samples"]
    assert "auroc" in sex["gaps"] and sex["fairness"]["equalized_odds_difference"] is not None
    assert "sex=F" in stdout and "equalised-odds difference" in stdout

    code, _, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(trained), "--data", str(cohort_dir),
        "--threshold", "0.7", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    point = json.loads(out.read_text())["operating_point"]
    assert point["threshold"] == 0.7 and point["source"] == "--threshold" and "subgroups" not in point


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--subgroups", "sex,ward"), "--subgroups: column 'ward' not found (available: sex, site"),
        (("--threshold", "youden"), "--threshold 'youden': evaluate takes a number"),
        (("--threshold", "2"), "--threshold: operating point '2'"),
        (("--subgroups", " , "), "--subgroups: give one or more column names"),
    ],
)
def test_evaluate_bad_input_is_one_line_and_writes_nothing(
    cohort_dir, trained, tmp_path, monkeypatch, capsys, args, message
):
    out = tmp_path / "eval.json"
    code, _, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(trained), "--data", str(cohort_dir), *args, "--out", str(out)
    )
    assert code != 0 and message in err and "Traceback" not in err
    assert len([line for line in err.strip().splitlines() if not line.startswith("warning:")]) == 1
    assert not out.exists()


@pytest.fixture(scope="module")
def survival_folder(tmp_path_factory):
    from omnifuse.data.simulate import make_lowquality

    ds, _ = make_lowquality(3, task="survival", n_samples=120, seed=0)
    return write_folder(ds, tmp_path_factory.mktemp("surv") / "cohort")


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        (("train", "--model", "sk-logreg"), ("--threshold", "youden"), "--threshold is for binary tasks"),
        (("benchmark", "--models", "sk-logreg"), ("--threshold", "0.4"), "survival tasks have no threshold"),
    ],
)
def test_threshold_on_survival_data_is_a_clear_error(
    survival_folder, tmp_path, monkeypatch, capsys, command, args, message
):
    out = tmp_path / "out"
    code, _, err = run(
        monkeypatch, capsys, command[0], "--data", str(survival_folder), *command[1:], *args, "--out", str(out)
    )
    assert code != 0 and message in err and "Traceback" not in err
    assert not out.exists()


def test_subgroup_frame_reads_one_hot_tabular_groups():
    from omnifuse.data import Labels, ModalitySpec, MultimodalDataset
    from omnifuse.trust.decisions import subgroup_frame

    static = np.array([[0, 1, 0, 0], [1, 0, 1, 0], [np.nan, 0, 0, 1], [1, np.nan, np.nan, np.nan]], dtype=np.float32)
    ds = MultimodalDataset(
        specs=[ModalitySpec("static", "tabular", ("Gender", "ICUType_1", "ICUType_2", "ICUType_3"), (4,))],
        data={"static": static},
        mask={"static": np.ones(4, bool)},
        labels=Labels("binary", np.array([0, 1, 0, 1]), ("neg", "pos")),
        sample_ids=np.array(["a", "b", "c", "d"]),
    )
    frame = subgroup_frame(ds, ["Gender", "ICUType"])
    assert frame["Gender"].tolist() == ["0", "1", None, "1"]
    assert frame["ICUType"].tolist() == ["1", "2", "3", None]
