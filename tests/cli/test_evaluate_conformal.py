"""`omnifuse evaluate` of a run with conformal sets: empirical coverage and mean set size on
the evaluated samples, overall and per availability pattern, clean and corrupted."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.loaders import load_dataset
from omnifuse.serving import load_bundle
from tests.cli.test_app import run
from tests.serving.conformal_runs import OWN_PATTERN, POOLED_PATTERN, conformal_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return conformal_runs(tmp_path_factory)


def test_evaluate_reports_coverage_per_pattern(runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval.json"
    args = ["evaluate", "--run", str(runs.conformal), "--data", str(runs.cohort), "--out", str(out)]
    code, stdout, err = run(monkeypatch, capsys, *args, "--drop", "omics=1", "--draws", "2")
    assert code == 0, err
    doc = json.loads(out.read_text())["conformal"]
    bundle = load_bundle(runs.conformal / "bundle")
    ds = load_dataset(runs.cohort)
    sets = bundle.fitted(ds).predict_sets(np.arange(len(ds)))
    hit = sets[np.arange(len(ds)), ds.y]
    patterns = ds.pattern_names()
    clean = doc["clean"]
    assert doc["coverage_target"] == 0.9 and clean["n"] == len(ds)
    assert clean["coverage"] == pytest.approx(hit.mean()) and clean["mean_size"] == pytest.approx(sets.sum(1).mean())
    assert set(clean["patterns"]) == set(patterns)
    for name, cell in clean["patterns"].items():
        rows = patterns == name
        assert cell["n"] == rows.sum() and cell["coverage"] == pytest.approx(hit[rows].mean())
    assert clean["patterns"][OWN_PATTERN]["threshold_source"] == "pattern"
    assert clean["patterns"][OWN_PATTERN]["threshold"] == bundle.conformal.patterns[OWN_PATTERN]["quantile"]
    assert clean["patterns"][POOLED_PATTERN]["threshold_source"] == "pooled"
    assert clean["patterns"][POOLED_PATTERN]["threshold"] == bundle.conformal.quantile
    assert set(clean["classes"]) == set(ds.class_names)
    for k, name in enumerate(ds.class_names):
        assert clean["classes"][name]["coverage"] == pytest.approx(hit[ds.y == k].mean())
    # omics dropped everywhere: only patterns without omics remain, every sample counted once per draw
    corrupted = doc["corrupted"]
    assert corrupted["draws"] == 2 and corrupted["n"] == 2 * len(ds)
    assert set(corrupted["patterns"]) == {"clin", POOLED_PATTERN}
    assert corrupted["patterns"]["clin"]["n"] > clean["patterns"]["clin"]["n"]
    assert corrupted["patterns"]["clin"]["threshold_source"] == "pattern"
    shown = " ".join(stdout.split())
    assert f"conformal sets (clean) at 0.9 target: coverage {clean['coverage']:.3f}" in shown
    assert f"{OWN_PATTERN}: coverage" in shown and "its own threshold" in shown and "the pooled threshold" in shown
    assert "coverage per true class:" in shown


def test_evaluate_without_conformal_reports_no_sets(runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "eval.json"
    code, stdout, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(runs.plain), "--data", str(runs.cohort), "--out", str(out)
    )
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert "conformal" not in doc and "operating_point" in doc and "conformal sets" not in stdout
