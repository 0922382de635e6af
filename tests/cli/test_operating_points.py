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
    assert code != 0 and message in err and "Traceback" not in err
    assert not out.exists()
