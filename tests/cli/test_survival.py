"""Survival cohorts through the evaluation commands: data inspect, benchmark, robustness."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import make_lowquality
from omnifuse.data.simulate_config import SimModality
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def survival_folder(tmp_path_factory):
    ds, _ = make_lowquality(3, task="survival", n_samples=200, seed=0)
    return write_folder(ds, tmp_path_factory.mktemp("surv") / "cohort")


def test_inspect_prints_events_censoring_follow_up_and_kaplan_meier(survival_folder, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "data", "inspect", str(survival_folder))
    assert code == 0, err
    assert "survival: 120 events, 80 censored (40.0% censored)" in out
    assert "follow-up: median" in out and "days" in out and "median survival (Kaplan-Meier)" in out
    assert "Kaplan-Meier survival at the quartiles of the event times: S(" in out


def test_benchmark_of_a_survival_cohort_prints_c_indices_and_writes_details(
    survival_folder, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(survival_folder),
        "--models",
        "late,concat",
        "--folds",
        "3",
        "--set",
        "max_epochs=20",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "survival" and results["classes"] == []
    concat = results["methods"]["concat"]["metrics"]
    assert set(concat) == {"c_index", "uno_c", "time_auc", "ibs"}
    c = concat["c_index"]
    assert c["mean"] > 0.6  # the simulated hazard is learnt from m0
    assert c["ci_low"] < c["mean"] < c["ci_high"] and len(c["values"]) == 3
    assert {t["metric"] for t in results["tests"]} == {"c_index", "ibs"}
    # the table: C-indices with their intervals, best first
    assert "C " in stdout and "IBS" in stdout and f"{c['mean']:.3f}" in stdout
    half = (c["ci_high"] - c["ci_low"]) / 2
    assert f"±{half:.3f}" in stdout
    means = {n: m["metrics"]["c_index"]["mean"] for n, m in results["methods"].items()}
    first, second = sorted(means, key=lambda n: -means[n])
    assert stdout.index(f"\n{first}") < stdout.index(f"\n{second}")
    # details: every sample is a test sample of exactly one fold
    details = json.loads((out / "details.json").read_text())
    s = details["methods"]["concat"]["survival"]
    assert len(s["folds"]) == 3 and [f["label"] for f in s["folds"]] == results["repeats"]
    assert sorted(s["sample_id"]) == sorted(set(s["sample_id"])) and len(s["sample_id"]) == 200
    assert len(s["risk"]) == len(s["time"]) == len(s["event"]) == len(s["fold"]) == 200
    assert all(len(row) == len(s["folds"][k]["horizons"]) for row, k in zip(s["survival"], s["fold"]))
    assert sum(s["event"]) == 120 and s["time_unit"] == "days"
    assert all(f["risk_median"] is not None for f in s["folds"])


def test_robustness_of_a_survival_cohort_with_a_modality_absent_for_half(tmp_path, monkeypatch, capsys):
    modalities = [
        SimModality("clin", informativeness=0.9, missing_rate=0.0),
        SimModality("omics", kind="omics", informativeness=0.6, missing_rate=0.5),
    ]
    ds, _ = make_lowquality(modalities, task="survival", n_samples=160, seed=1)
    assert 0.4 < (~ds.mask[:, ds.modalities.index("omics")]).mean() < 0.6
    data = write_folder(ds, tmp_path / "c")
    out = tmp_path / "rob"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "robustness",
        "--data",
        str(data),
        "--models",
        "concat",
        "--folds",
        "2",
        "--draws",
        "1",
        "--missing-rates",
        "0,0.5",
        "--noise-kinds",
        "gaussian",
        "--set",
        "max_epochs=10",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads((out / "robustness.json").read_text())
    assert doc["task"] == "survival"
    m = doc["methods"]["concat"]
    assert set(m["clean"]) == {"c_index", "uno_c", "time_auc", "ibs"}
    clean = m["clean"]["c_index"]["mean"]
    assert 0.5 < clean <= 1.0
    assert set(m["patterns"]) == {"clin", "omics", "clin+omics"}
    assert set(m["missing"]) == {"clin", "omics", "any"} and set(m["missing"]["any"]) == {"0.0", "0.5"}
    assert m["missing"]["clin"]["0.0"]["c_index"]["mean"] == clean
    assert set(m["noise"]["clin"]) == {"gaussian"}
    assert np.isfinite(m["relative_robustness"]["overall"]["c_index"])
    assert "clean c_index" in stdout and (out / "details.json").exists()


def test_tune_and_nested_benchmark_of_a_survival_cohort(tmp_path, monkeypatch, capsys):
    ds, _ = make_lowquality(2, task="survival", n_samples=100, seed=4)
    data = write_folder(ds, tmp_path / "c")
    code, stdout, err = run(
        monkeypatch, capsys, "tune", "--data", str(data), "--model", "concat", "--trials", "2", "--folds", "2",
        "--set", "max_epochs=3", "--out", str(tmp_path / "tune"),
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads((tmp_path / "tune" / "tune.json").read_text())
    assert summary["metric"] == "c_index" and summary["direction"] == "maximize"
    assert "best mean inner-fold" in stdout and "c_index 0." in " ".join(stdout.split())
    out = tmp_path / "nested"
    code, stdout, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(data), "--models", "concat", "--folds", "2",
        "--tune-trials", "2", "--tune-folds", "2", "--set", "max_epochs=3", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"]["tuning"]["metric"] == "c_index"
    assert len(results["methods"]["concat"]["tuned_configs"]) == 2


def test_train_reports_survival_validation_metrics(survival_folder, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(
        monkeypatch, capsys, "train", "--data", str(survival_folder), "--model", "concat", "--set", "max_epochs=3",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    validation = json.loads((out / "run.json").read_text())["validation"]
    assert set(validation) == {"c_index", "uno_c", "time_auc", "ibs"} and "validation c_index" in stdout
