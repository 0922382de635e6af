"""`omnifuse evaluate`, `robustness` and `report` through the real entry point."""

from __future__ import annotations

import json

import pytest

from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import default_cohort
from tests.cli.test_app import run

SMALL_SWEEP = ("--missing-rates", "0,0.5", "--noise-kinds", "gaussian,segment", "--draws", "1", "--set", "max_epochs=2")


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    ds, _ = default_cohort(3, seed=2, n_samples=200)
    return write_folder(ds, tmp_path_factory.mktemp("cohort") / "c")


@pytest.fixture(scope="module")
def trained_runs(cohort_dir, tmp_path_factory):
    """Two trained runs (concat and sk-logreg) of the cohort."""
    mp = pytest.MonkeyPatch()
    capsys_free = tmp_path_factory.mktemp("runs")
    runs = {}
    for model in ("concat", "sk-logreg"):
        out = capsys_free / model
        import sys

        from omnifuse.cli.app import main

        mp.setattr(
            sys,
            "argv",
            [
                "omnifuse",
                "train",
                "--data",
                str(cohort_dir),
                "--model",
                model,
                "--set",
                "max_epochs=2",
                "--out",
                str(out),
            ],
        )
        try:
            main()
        except SystemExit as exc:
            assert not exc.code
        runs[model] = out
    mp.undo()
    return runs


def test_robustness_trains_sweeps_and_reports(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rob"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "robustness",
        "--data",
        str(cohort_dir),
        "--models",
        "late,sk-logreg",
        "--folds",
        "2",
        *SMALL_SWEEP,
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads((out / "robustness.json").read_text())
    assert set(doc["methods"]) == {"late", "sk-logreg", "concat"}  # the baseline is added
    assert doc["baseline"] == "concat" and doc["levels"]["missing"] == [0.0, 0.5]
    m = doc["methods"]["late"]
    assert set(m["missing"]) == {"ehr", "notes", "vitals", "any"} and set(m["missing"]["any"]) == {"0.0", "0.5"}
    assert len(m["patterns"]) == 7
    assert set(m["noise"]["vitals"]) == {"gaussian", "segment"} and set(m["noise"]["ehr"]) == {"gaussian"}
    cell = m["noise"]["vitals"]["segment"]["0.4"]["auroc"]
    assert set(cell) == {"mean", "ci_low", "ci_high"}
    assert set(m["relative_robustness"]) == {"missing", "noise", "overall"}
    assert m["effective_robustness"]["baseline"] == "concat"
    assert (out / "results.json").exists() and (out / "details.json").exists()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 5
    assert "robustness (auroc" in stdout and "late" in stdout
    (out / "report.html").unlink()
    code, stdout, err = run(monkeypatch, capsys, "report", str(out))
    assert code == 0 and (out / "report.html").exists(), err


def test_robustness_of_trained_runs(cohort_dir, trained_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rob"
    runs = ",".join(str(p) for p in trained_runs.values())
    code, _, err = run(
        monkeypatch,
        capsys,
        "robustness",
        "--data",
        str(cohort_dir),
        "--runs",
        runs,
        "--missing-rates",
        "0.3",
        "--noise-kinds",
        "dropout",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads((out / "robustness.json").read_text())
    assert set(doc["methods"]) == {"concat", "sk-logreg"} and "bootstrap" in doc["interval"]
    assert not (out / "results.json").exists() and (out / "report.html").exists()


def test_evaluate_clean_and_corrupted(cohort_dir, trained_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval.json"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--run",
        str(trained_runs["concat"]),
        "--data",
        str(cohort_dir),
        "--drop",
        "ehr=0.9",
        "--noise",
        "vitals=gaussian:2",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["model"] == "concat" and doc["corruptions"] == ["ehr=drop:0.9", "vitals=gaussian:2.0"]
    assert doc["n_samples"] == 200 and doc["draws"] == 3
    assert "were in the run's training/validation pool" in " ".join(err.split())  # same data, no test split
    assert doc["metrics"]["auroc"]["mean"] < doc["clean"]["auroc"]["mean"]  # the informative modality is gone
    for metric in doc["metrics"].values():
        assert metric["ci_low"] <= metric["mean"] <= metric["ci_high"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--noise", "vitals=blur:1"], "unknown kind 'blur' (valid: drop:RATE in [0, 1], dropout:RATE"),
        (["--noise", "vitals=dropout:1.5"], "rate must be in [0, 1], got 1.5"),
        (["--noise", "vitals=drop:0.5"], "'drop' is not a noise kind"),
        (["--drop", "ehr"], "expected MODALITY=RATE"),
        (["--drop", "ehr=2"], "rate must be in [0, 1], got 2.0"),
        (["--drop", "nope=0.5"], "unknown modality 'nope'"),
    ],
)
def test_evaluate_bad_corruptions(args, message, cohort_dir, trained_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval.json"
    code, _, err = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--run",
        str(trained_runs["concat"]),
        "--data",
        str(cohort_dir),
        *args,
        "--out",
        str(out),
    )
    assert code == 2 and message in " ".join(err.split()) and "Traceback" not in err
    assert not out.exists()


def test_evaluate_on_different_modalities_lists_the_differences(trained_runs, tmp_path, monkeypatch, capsys):
    ds, _ = default_cohort(3, seed=2, n_samples=60)
    other = ds.select_modalities(["ehr", "vitals"])
    other = other.subset(other.mask.any(axis=1).nonzero()[0])
    folder = write_folder(other, tmp_path / "other")
    code, _, err = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--run",
        str(trained_runs["concat"]),
        "--data",
        str(folder),
        "--out",
        str(tmp_path / "e.json"),
    )
    assert code == 2 and "missing modality 'notes'" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--models", "concat", "--runs", "x"], "either --models"),
        (
            ["--models", "concat", "--noise-kinds", "blur"],
            "unknown kind 'blur' (valid: gaussian, dropout, segment, flatline)",
        ),
        (["--models", "concat", "--missing-rates", "0.5,1.2"], "1.2 is outside [0, 1]"),
        (["--models", "nope"], "unknown model 'nope'"),
    ],
)
def test_robustness_bad_options(args, message, cohort_dir, tmp_path, monkeypatch, capsys):
    code, _, err = run(
        monkeypatch, capsys, "robustness", "--data", str(cohort_dir), *args, "--out", str(tmp_path / "r")
    )
    assert code == 2 and message in " ".join(err.split())


def test_report_on_a_directory_without_outputs(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and "no results.json" in err


def test_real_breast_cohort_train_evaluate_and_sweep(tmp_path, monkeypatch, capsys):
    from tests.conftest import shared_dataset

    data = shared_dataset("breast_tcga")
    run_dir = tmp_path / "run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(data),
        "--model",
        "concat",
        "--train-split",
        "train",
        "--set",
        "max_epochs=3",
        "--out",
        str(run_dir),
    )
    assert code == 0, err
    code, _, err = run(
        monkeypatch,
        capsys,
        "evaluate",
        "--run",
        str(run_dir),
        "--data",
        str(data),
        "--test-split",
        "test",
        "--drop",
        "mirna=0.5",
        "--out",
        str(tmp_path / "e.json"),
    )
    assert code == 0, err
    assert "training/validation pool" not in err
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["n_samples"] == 70 and doc["clean"]["auroc"]["mean"] > 0.8  # 4 subtypes; chance is 0.5
    out = tmp_path / "rob"
    code, _, err = run(
        monkeypatch,
        capsys,
        "robustness",
        "--data",
        str(data),
        "--runs",
        str(run_dir),
        "--test-split",
        "test",
        "--missing-rates",
        "0.5",
        "--noise-kinds",
        "gaussian",
        "--draws",
        "1",
        "--out",
        str(out),
    )
    assert code == 0, err
    rob = json.loads((out / "robustness.json").read_text())
    # the real test split has no protein: that pattern has no samples, mRNA+miRNA has all 70
    assert rob["pattern_counts"]["protein"] == 0 and rob["pattern_counts"]["mirna+mrna"] == 70
    assert rob["methods"]["concat"]["patterns"]["protein"]["auroc"]["mean"] is None


def test_evaluate_a_run_that_uses_fewer_modalities_than_the_data(cohort_dir, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(cohort_dir),
        "--model",
        "concat",
        "--modalities",
        "ehr",
        "--set",
        "max_epochs=2",
        "--out",
        str(run_dir),
    )
    assert code == 0, err
    out = tmp_path / "e.json"
    code, _, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(run_dir), "--data", str(cohort_dir), "--out", str(out)
    )
    assert code == 0, err
    assert "they are ignored" in " ".join(err.split())
    from omnifuse.data.loaders import load_dataset

    ds = load_dataset(cohort_dir)
    doc = json.loads(out.read_text())
    assert doc["n_samples"] == int(ds.availability("ehr").sum())  # samples without ehr cannot be scored
