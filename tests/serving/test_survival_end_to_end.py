"""A simulated survival cohort (one modality absent for half the patients) through
`omnifuse train`, `omnifuse predict` and `omnifuse serve`."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
import uvicorn
from fastapi.testclient import TestClient

from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.data.simulate import default_modalities, make_lowquality
from omnifuse.serving import load_bundle
from omnifuse.serving.app import TOKEN_ENV
from tests.cli.test_app import run

SPARSE = "m2"  # absent for half of the patients


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    mods = [replace(m, missing_rate=0.5 if m.name == SPARSE else 0.0) for m in default_modalities(3)]
    ds, _ = make_lowquality(mods, task="survival", n_samples=240, seed=0)
    assert ds.availability(SPARSE).mean() == pytest.approx(0.5, abs=0.08)
    return write_folder(ds, tmp_path_factory.mktemp("surv") / "cohort")


@pytest.fixture(scope="module")
def trained(cohort, tmp_path_factory):
    """`omnifuse train` runs, once per head: a Cox head and a logistic-hazard ensemble."""
    root = tmp_path_factory.mktemp("surv_runs")
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, extra in (("cox", []), ("lh", ["--set", "survival_head=logistic_hazard", "--set", "ensemble=2"])):
            out = root / name
            code = _main(
                mp,
                "train",
                "--data",
                str(cohort),
                "--model",
                "concat",
                "--set",
                "max_epochs=2",
                "--set",
                "embed_dim=8",
                *extra,
                "--out",
                str(out),
            )
            assert code == 0
            runs[name] = out
    return runs


def _main(mp: pytest.MonkeyPatch, *args: str) -> int:
    """The CLI's exit code (outside a test: no capsys in a module fixture)."""
    from omnifuse.cli import main

    mp.setattr(sys, "argv", ["omnifuse", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize("head", ["cox", "lh"])
def test_train_stores_the_readout_and_c_index(trained, head):
    summary = json.loads((trained[head] / "run.json").read_text())
    assert {"c_index", "uno_c", "time_auc", "ibs"} <= set(summary["validation"])
    info = json.loads((trained[head] / "bundle" / "bundle.json").read_text())
    assert info["survival"]["head"] == ("cox" if head == "cox" else "logistic_hazard")
    assert info["time_unit"] == "days" and info["class_names"] == []
    bundle = load_bundle(trained[head] / "bundle")
    assert bundle.readout is not None and len(bundle.readout.horizons) == 3


@pytest.mark.parametrize("head", ["cox", "lh"])
def test_predict_data_json_and_csv(cohort, trained, tmp_path, monkeypatch, capsys, head):
    out = tmp_path / "pred.json"
    code, stdout, err = run(
        monkeypatch, capsys, "predict", "--run", str(trained[head]), "--data", str(cohort), "--out", str(out)
    )
    assert code == 0, err
    doc = json.loads(out.read_text())
    ds = load_dataset(cohort)
    bundle = load_bundle(trained[head] / "bundle")
    horizons = bundle.readout.horizons
    assert doc["task"] == "survival" and doc["classes"] == [] and doc["time_unit"] == "days"
    assert doc["horizons"] == horizons and doc["n_samples"] == len(ds)
    answers = doc["predictions"]
    assert [a["id"] for a in answers] == list(ds.sample_ids)
    fitted = bundle.fitted(ds)
    index = np.arange(len(ds))
    np.testing.assert_allclose([a["risk"] for a in answers], fitted.predict_risk(index), rtol=1e-12)
    curves = np.array([[p["survival"] for p in a["survival"]] for a in answers])
    np.testing.assert_allclose(curves, fitted.predict_survival(index, horizons), rtol=1e-12)
    assert all([p["time"] for p in a["survival"]] == horizons for a in answers)
    assert not any(k in answers[0] for k in ("probabilities", "predicted_class"))
    partial = [a for a in answers if a["absent"]]
    assert partial and all(a["absent"] == [SPARSE] for a in partial)
    assert len(partial) == int((~ds.availability(SPARSE)).sum())
    assert f"{len(ds)} samples ({len(partial)} with absent modalities); risk median" in stdout
    if head == "lh":
        assert all(a["risk_spread"] is None for a in answers)  # only Cox ensembles have a risk spread

    table = tmp_path / "pred.csv"
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(trained[head]), "--data", str(cohort), "--out", str(table)
    )
    assert code == 0, err
    frame = pd.read_csv(table)
    assert list(frame.columns[:5]) == ["id", "risk", *(f"survival_{t:g}" for t in horizons)]
    np.testing.assert_allclose(frame["risk"], [a["risk"] for a in answers])


def test_predict_input_file_with_a_missing_modality(trained, tmp_path, monkeypatch, capsys):
    bundle = load_bundle(trained["cox"] / "bundle")
    spec = bundle.schema.specs["m0"]
    request = tmp_path / "patients.json"
    request.write_text(json.dumps({"patients": [{"id": "p1", "modalities": {"m0": [0.3] * spec.n_features}}]}))
    out = tmp_path / "answers.json"
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(trained["cox"]), "--input", str(request), "--out", str(out)
    )
    assert code == 0, err
    (answer,) = json.loads(out.read_text())["predictions"]
    assert answer["id"] == "p1" and answer["absent"] == ["m1", "m2"] and answer["present"] == ["m0"]


def test_serve_answers_a_patient_with_a_missing_modality(trained, monkeypatch, capsys):
    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: served.update(app=app))
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, _, err = run(monkeypatch, capsys, "serve", "--run", str(trained["cox"]))
    assert code == 0, err
    client = TestClient(served["app"])
    bundle = load_bundle(trained["cox"] / "bundle")
    info = client.get("/model").json()
    assert info["task"] == "survival" and info["classes"] == []
    assert info["survival"] == {"head": "cox", "horizons": bundle.readout.horizons, "time_unit": "days"}

    specs = bundle.schema.specs
    patient = {"m0": {f: 0.5 for f in specs["m0"].feature_names}, "m1": [0.1] * specs["m1"].n_features}
    r = client.post("/predict", json={"id": "p1", "modalities": patient})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "p1" and body["present"] == ["m0", "m1"] and body["absent"] == [SPARSE]
    assert body["time_unit"] == "days" and [p["time"] for p in body["survival"]] == bundle.readout.horizons
    curve = [p["survival"] for p in body["survival"]]
    assert all(0.0 <= s <= 1.0 for s in curve) and curve == sorted(curve, reverse=True)
    assert "probabilities" not in body and np.isfinite(body["risk"])
    explained = client.post("/predict", json={"modalities": patient, "explain": True})  # attributions: classes only
    assert explained.status_code == 422 and explained.json()["detail"][0]["loc"] == ["body", "explain"]
    assert "not supported yet" in explained.json()["detail"][0]["msg"] and "not available" in info["attributions"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "SurvivalPrediction" in schema and "Prediction" not in schema

    batch = client.post(
        "/predict/batch",
        json={"patients": [{"modalities": patient}, {"modalities": {"m2": [0.0] * specs["m2"].n_features}}]},
    )
    assert batch.status_code == 200, batch.text
    first, second = batch.json()["predictions"]
    assert first["risk"] == pytest.approx(body["risk"], abs=1e-6) and second["absent"] == ["m0", "m1"]
