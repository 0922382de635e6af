"""`omnifuse tune` and `benchmark --tune-trials` through the real entry point."""

from __future__ import annotations

import json

import pytest
import yaml

from omnifuse.data.loaders import write_folder
from omnifuse.training.config import load_config
from tests.cli.test_app import run
from tests.tuning.conftest import signal_cohort


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    return write_folder(signal_cohort(60), tmp_path_factory.mktemp("cohort") / "c")


def test_tune_writes_a_best_config_that_train_accepts(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "tune"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "tune",
        "--data",
        str(cohort_dir),
        "--model",
        "sk-logreg",
        "--trials",
        "3",
        "--out",
        str(out),
        "--test-split",
        "test",
        "--set",
        "seed=1",
    )
    assert code == 0, err
    assert "trial 2 complete" in err  # one line per trial when stderr is not a terminal
    summary = json.loads((out / "tune.json").read_text())
    assert summary["n_complete"] == 3 and summary["test_split"] == "test" and summary["model"] == "sk-logreg"
    assert {"study.db", "best.yaml", "trials.csv", "tune.json", "report.html"} <= {p.name for p in out.iterdir()}
    assert "Hyperparameter tuning" in (out / "report.html").read_text()
    best = load_config(out / "best.yaml", model="sk-logreg")
    assert best.model.model.C == summary["best_params"]["model.C"] and best.trainer.seed == 1
    run_dir = tmp_path / "run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(cohort_dir),
        "--model",
        "sk-logreg",
        "--config",
        str(out / "best.yaml"),
        "--out",
        str(run_dir),
    )
    assert code == 0, err
    assert json.loads((run_dir / "run.json").read_text())["config"]["model"]["C"] == best.model.model.C
    code, _, err = run(
        monkeypatch,
        capsys,
        "tune",
        "--data",
        str(cohort_dir),
        "--model",
        "sk-logreg",
        "--trials",
        "3",
        "--out",
        str(out),
    )
    assert code == 2 and "pass --resume" in err and "Traceback" not in err
    code, _, err = run(
        monkeypatch,
        capsys,
        "tune",
        "--data",
        str(cohort_dir),
        "--model",
        "sk-logreg",
        "--trials",
        "4",
        "--out",
        str(out),
        "--resume",
        "--test-split",
        "test",
        "--set",
        "seed=1",
    )
    assert code == 0, err
    assert json.loads((out / "tune.json").read_text())["n_trials"] == 4


@pytest.mark.parametrize(
    "text, message",
    [
        ("model.C: {type: categorical, choices: [abc]}\n", "model 'sk-logreg' rejects"),
        ("model.C: {type: float, low: 1, high: 0.1}\n", "'model.C': low 1.0 is above high 0.1"),
        ("nope: {type: int, low: 1, high: 2}\n", "unknown key 'nope'"),
        ("model.C: null\n", "has no hyperparameters to tune"),
        ("[1, 2]\n", "a search space must be a mapping"),
    ],
)
def test_bad_space_files_are_one_line_errors(cohort_dir, tmp_path, monkeypatch, capsys, text, message):
    space = tmp_path / "space.yaml"
    space.write_text(text)
    code, _, err = run(
        monkeypatch,
        capsys,
        "tune",
        "--data",
        str(cohort_dir),
        "--model",
        "sk-logreg",
        "--trials",
        "2",
        "--out",
        str(tmp_path / "o"),
        "--space",
        str(space),
    )
    assert code == 2 and message in err and "Traceback" not in err
    if "has no" not in message:
        assert str(space) in err


def test_benchmark_with_nested_tuning(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    code, _, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(cohort_dir),
        "--models",
        "sk-logreg,sk-hgb",
        "--folds",
        "2",
        "--tune-trials",
        "2",
        "--tune-folds",
        "2",
        "--set",
        "model.max_iter=20",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["protocol"]["tuning"]["inner_folds"] == 2
    assert [set(c["model"]) for c in results["methods"]["sk-hgb"]["tuned_configs"]] == [
        {"max_depth", "learning_rate", "l2_regularization", "max_iter"}
    ] * 2
    assert len(results["methods"]["sk-logreg"]["tuned_configs"]) == 2
    assert yaml.safe_load(yaml.safe_dump(results["methods"]["sk-logreg"]["tuned_configs"][0]))["model"]["C"] > 0
