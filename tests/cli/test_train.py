"""`omnifuse models`, `train` and `benchmark` through the real entry point."""

from __future__ import annotations

import json

import pytest

from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import default_cohort
from tests.conftest import shared_dataset
from tests.cli.test_app import run

REQUIRED = {
    "early",
    "late",
    "concat",
    "sum",
    "product",
    "tensor",
    "lmf",
    "gmu",
    "se-gate",
    "attention",
    "cross-attention",
    "medfuse-lstm",
    "hybrid",
    "sk-logreg",
    "sk-hgb",
}


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    ds, _ = default_cohort(3, seed=1, n_samples=240)
    return write_folder(ds, tmp_path_factory.mktemp("cohort") / "c")


def test_models_lists_the_catalogue(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "models", "--json")
    entries = {e["name"]: e for e in json.loads(out)}
    assert code == 0 and REQUIRED <= set(entries)
    assert entries["sk-hgb"]["kind"] == "baseline" and entries["attention"]["kind"] == "fusion"
    assert all(e["paper"] for e in entries.values())


def test_train_writes_a_run(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(cohort_dir),
        "--model",
        "gmu",
        "--set",
        "max_epochs=3",
        "--set",
        "embed_dim=16",
        "--out",
        str(out),
    )
    assert code == 0, err
    summary = json.loads((out / "run.json").read_text())
    assert summary["model"] == "gmu" and summary["config"]["max_epochs"] == 3
    assert 0.0 <= summary["validation"]["auroc"] <= 1.0
    assert (out / "checkpoints" / "last.ckpt").exists()
    code, _, err = run(monkeypatch, capsys, "train", "--data", str(cohort_dir), "--model", "gmu", "--out", str(out))
    assert code == 2 and "not empty" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "unknown model 'nope' (valid: "),
        (["--model", "concat", "--set", "max_epoch=3"], "unknown key 'max_epoch' (valid: "),
        (["--model", "concat", "--set", "fusion.rank=3"], "fusion 'concat': unknown option 'rank'"),
        (["--model", "lmf", "--set", "lr=-1"], "'lr': Input should be greater than 0"),
        (["--model", "concat", "--set", "encoders.ehr.type=gru"], "unknown"),
        (
            ["--model", "lmf", "--set", "fusion.rank=abc"],
            "fusion 'lmf': option 'rank': Input should be a valid integer",
        ),
        (
            ["--model", "concat", "--set", "encoders.tabular.dropout=abc"],
            "mlp encoder: option 'dropout': Input should be a valid number",
        ),
        (
            ["--model", "sk-logreg", "--set", "model.C=abc"],
            "sk-logreg: option 'model.C': Input should be a valid number",
        ),
        (["--model", "sk-logreg", "--set", "embed_dim=8"], "unknown key 'embed_dim' (valid: accelerator, batch_size"),
        (["--model", "concat", "--set", "model.C=0.5"], "concat: unknown option 'model.C' (valid: combine_unimodal)"),
        (["--model", "late", "--set", "unimodal_heads=true"], "unknown key 'unimodal_heads' (valid: "),
        (["--model", "omnifuse", "--set", "model.n_blocks=0"], "omnifuse: option 'model.n_blocks': Input should be"),
    ],
)
def test_train_config_errors(cohort_dir, tmp_path, monkeypatch, capsys, args, message):
    code, _, err = run(monkeypatch, capsys, "train", "--data", str(cohort_dir), *args, "--out", str(tmp_path / "r"))
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing written


def test_train_output_checks_and_resume_guard(cohort_dir, tmp_path, monkeypatch, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(
        monkeypatch, capsys, "train", "--data", str(cohort_dir), "--model", "concat", "--out", str(afile)
    )
    assert code == 2 and "exists and is not a directory" in err
    out = tmp_path / "run"
    args = ["train", "--data", str(cohort_dir), "--set", "max_epochs=2", "--set", "embed_dim=8", "--out", str(out)]
    assert run(monkeypatch, capsys, *args, "--model", "concat")[0] == 0
    code, _, err = run(monkeypatch, capsys, *args, "--model", "gmu", "--resume")
    assert code == 2 and "cannot resume with a different model" in err
    code, _, err = run(monkeypatch, capsys, *args, "--model", "concat", "--set", "lr=0.1", "--resume")
    assert code == 2 and "config.lr" in err
    assert run(monkeypatch, capsys, *args, "--model", "concat", "--set", "max_epochs=3", "--resume")[0] == 0


def test_benchmark_kfold_results_json(cohort_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(cohort_dir),
        "--models",
        "concat,late,sk-logreg",
        "--folds",
        "3",
        "--set",
        "max_epochs=3",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "binary" and results["protocol"]["type"] == "kfold"
    for name in ("concat", "late", "sk-logreg"):
        method = results["methods"][name]
        auroc = method["metrics"]["auroc"]
        assert len(auroc["values"]) == 3 and auroc["ci_low"] <= auroc["mean"] <= auroc["ci_high"]
        assert set(method["metrics"]) == {
            "auroc",
            "auprc",
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "kappa",
            "brier",
            "ece",
        }
        assert method["n_params"] > 0 and method["train_seconds"] >= 0
    pairs = {(t["a"], t["b"], t["metric"]) for t in results["tests"]}
    assert ("concat", "sk-logreg", "auroc") in pairs
    assert "sk-logreg" in stdout


def test_benchmark_with_test_split_on_breast_tcga(tmp_path, monkeypatch, capsys):
    data = shared_dataset("breast_tcga")
    out = tmp_path / "bench"
    code, _, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(data),
        "--models",
        "attention,sk-logreg",
        "--train-split",
        "train",
        "--test-split",
        "test",
        "--seeds",
        "2",
        "--set",
        "max_epochs=5",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["task"] == "multiclass" and results["protocol"]["type"] == "holdout"
    auroc = results["methods"]["attention"]["metrics"]["auroc"]
    assert len(auroc["values"]) == 2 and auroc["mean"] > 0.8  # protein is absent for every test sample


def test_benchmark_bad_split_name(cohort_dir, tmp_path, monkeypatch, capsys):
    code, _, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(shared_dataset("breast_tcga")),
        "--models",
        "concat",
        "--train-split",
        "train",
        "--test-split",
        "holdout",
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 2 and "unknown split 'holdout'" in err
