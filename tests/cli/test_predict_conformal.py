"""`omnifuse predict` of a run trained with conformal sets and a temperature: every answer
carries its prediction set and the threshold it came from (JSON and CSV)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from omnifuse.data.loaders import load_dataset
from omnifuse.serving import load_bundle
from tests.cli.test_app import run
from tests.serving.conformal_runs import OWN_PATTERN, POOLED_PATTERN, conformal_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return conformal_runs(tmp_path_factory)


def _expected(runs):
    """Sets, thresholds and calibrated probabilities of the loaded bundle, for every sample."""
    bundle = load_bundle(runs.conformal / "bundle")
    ds = load_dataset(runs.cohort)
    fitted = bundle.fitted(ds)
    index = np.arange(len(ds))
    thresholds, own = bundle.conformal.quantiles(ds.pattern_names(), len(ds))
    return bundle, ds, fitted.predict_sets(index), thresholds, own, fitted.predict_proba(index)


def test_predict_json_carries_sets_coverage_and_threshold_source(runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "pred.json"
    code, stdout, err = run(
        monkeypatch, capsys, "predict", "--run", str(runs.conformal), "--data", str(runs.cohort), "--out", str(out)
    )
    assert code == 0, err
    doc = json.loads(out.read_text())
    bundle, ds, sets, thresholds, own, probs = _expected(runs)
    assert doc["calibration"] == {
        "method": "temperature",
        "temperature": bundle.calibration.temperature,
        "n_samples": bundle.calibration.n_samples,
    }
    assert doc["conformal"]["coverage"] == 0.9 and doc["conformal"]["pooled_threshold"] == bundle.conformal.quantile
    assert set(doc["conformal"]["patterns"]) == set(bundle.conformal.patterns) >= {OWN_PATTERN}
    answers = doc["predictions"]
    classes = list(ds.class_names)
    got_sets = np.array([[c in a["prediction_set"] for c in classes] for a in answers])
    np.testing.assert_array_equal(got_sets, sets)
    np.testing.assert_array_equal([a["conformal"]["threshold"] for a in answers], thresholds)
    assert [a["conformal"]["threshold_source"] for a in answers] == ["pattern" if o else "pooled" for o in own]
    assert [a["conformal"]["pattern"] for a in answers] == list(ds.pattern_names())
    assert all(a["conformal"]["coverage"] == 0.9 for a in answers)
    # the probabilities answered are the calibrated ones, and the sets follow from them
    got = np.array([[a["probabilities"][c] for c in classes] for a in answers])
    np.testing.assert_allclose(got, probs, atol=1e-6)
    assert not np.allclose(probs, bundle.fitted(ds).raw_proba(np.arange(len(ds))), atol=1e-4)
    by_pattern = {a["conformal"]["pattern"]: a["conformal"] for a in answers}
    assert by_pattern[OWN_PATTERN]["threshold_source"] == "pattern"
    assert by_pattern[OWN_PATTERN]["n_calibration"] == bundle.conformal.patterns[OWN_PATTERN]["n"]
    assert by_pattern[POOLED_PATTERN] == {
        "coverage": 0.9,
        "pattern": POOLED_PATTERN,
        "threshold": bundle.conformal.quantile,
        "class_thresholds": None,
        "threshold_source": "pooled",
        "n_calibration": bundle.conformal.n_calibration,
    }
    shown = " ".join(stdout.split())
    assert f"probabilities calibrated (temperature {bundle.calibration.temperature:.3f}" in shown
    n_pooled = int((~own).sum())
    assert "prediction sets at 0.9 coverage:" in shown and f"{n_pooled} sample(s) with the pooled threshold" in shown


def test_predict_csv_has_a_prediction_set_column(runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "pred.csv"
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(runs.conformal), "--data", str(runs.cohort), "--out", str(out)
    )
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False, dtype={"prediction_set": str})
    _, ds, sets, thresholds, own, _ = _expected(runs)
    classes = np.array(ds.class_names)
    assert table["prediction_set"].tolist() == ["|".join(classes[row]) for row in sets]
    assert (table["prediction_set"].str.contains("|", regex=False)).any()  # some sets hold both classes
    np.testing.assert_array_equal(table["set_threshold"].to_numpy(), thresholds)
    assert table["set_threshold_source"].tolist() == ["pattern" if o else "pooled" for o in own]
    assert set(table["set_coverage"]) == {0.9}
    assert table["set_pattern"].tolist() == list(ds.pattern_names())


def test_predict_input_patient_with_an_absent_modality_gets_its_patterns_threshold(runs, tmp_path, monkeypatch, capsys):
    bundle = load_bundle(runs.conformal / "bundle")
    clin = {f: 0.2 for f in bundle.schema.specs["clin"].feature_names}
    notes = [0.1] * bundle.schema.specs["notes"].n_features
    path = tmp_path / "in.json"
    path.write_text(
        json.dumps(
            {
                "patients": [
                    {"id": "a", "modalities": {"clin": clin, "omics": [0.1] * bundle.schema.specs["omics"].n_features}},
                    {"modalities": {"clin": clin, "notes": notes}},
                ]
            }
        )
    )
    out = tmp_path / "out.json"
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(runs.conformal), "--input", str(path), "--out", str(out)
    )
    assert code == 0, err
    first, second = json.loads(out.read_text())["predictions"]
    assert first["absent"] == ["notes"] and first["conformal"]["pattern"] == OWN_PATTERN
    assert first["conformal"]["threshold_source"] == "pattern"
    assert first["conformal"]["threshold"] == bundle.conformal.patterns[OWN_PATTERN]["quantile"]
    assert second["conformal"]["pattern"] == POOLED_PATTERN and second["conformal"]["threshold_source"] == "pooled"
    for answer in (first, second):  # the set: every class whose score 1 - p is within the threshold
        q = answer["conformal"]["threshold"]
        within = [c for c, p in answer["probabilities"].items() if 1 - p <= q + 1e-12]
        best = max(answer["probabilities"], key=answer["probabilities"].get)
        assert answer["prediction_set"] == (within or [best])


def test_predict_without_conformal_has_no_sets(runs, tmp_path, monkeypatch, capsys):
    out_json, out_csv = tmp_path / "p.json", tmp_path / "p.csv"
    for out in (out_json, out_csv):
        code, stdout, err = run(
            monkeypatch, capsys, "predict", "--run", str(runs.plain), "--data", str(runs.cohort), "--out", str(out)
        )
        assert code == 0, err
        assert "prediction sets" not in stdout and "calibrated" not in stdout
    doc = json.loads(out_json.read_text())
    assert doc["calibration"] is None and doc["conformal"] is None
    assert all(a["prediction_set"] is None and a["conformal"] is None for a in doc["predictions"])
    columns = set(pd.read_csv(out_csv).columns)
    assert "p_0" in columns and not {c for c in columns if c.startswith("set_") or c == "prediction_set"}
