"""``POST /predict`` with ``"explain": true``: the same attributions as ``omnifuse explain``."""

from __future__ import annotations


import dataclasses

import numpy as np
import pytest
from fastapi.testclient import TestClient

from omnifuse.serving import create_app, load_bundle
from omnifuse.serving.app import TOKEN_ENV, ServeSettings
from omnifuse.serving.bundle import BASELINES_FILE, write_manifest
from omnifuse.serving.cohort import patients_dataset
from omnifuse.serving.explain import SERVE_STEPS
from omnifuse.trust.attributions import explain

from .conftest import _train
from .test_api import full_patient


def client_for(bundle, monkeypatch) -> TestClient:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return TestClient(create_app(bundle, ServeSettings()))


def test_explain_answers_attributions_of_present_modalities(sim_bundle, monkeypatch):
    client = client_for(sim_bundle, monkeypatch)
    assert client.get("/model").json()["attributions"].startswith("integrated gradients")
    patient = {"ehr": full_patient(sim_bundle)["ehr"], "vitals": full_patient(sim_bundle)["vitals"]}
    r = client.post("/predict", json={"id": "p1", "modalities": patient, "explain": True, "top_k": 3})
    assert r.status_code == 200, r.text
    answer = r.json()
    e = answer["explanation"]
    assert answer["absent"] == e["absent"] == ["notes"] and set(e["modalities"]) == {"ehr", "vitals"}
    assert sum(m["share"] for m in e["modalities"].values()) == pytest.approx(1.0)
    assert all(len(m["features"]) <= 3 and len(m["windows"]) <= 3 for m in e["modalities"].values())
    assert e["method"] == "integrated_gradients" and e["output"] == "log-odds of class 1"
    p1 = answer["probabilities"]["1"]
    assert e["score"] == pytest.approx(np.log(p1) - np.log1p(-p1), abs=1e-4)
    ds = patients_dataset([patient], sim_bundle.schema)
    expected = explain(sim_bundle.fitted(ds), [0], top_k=3, baselines=sim_bundle.baselines, n_steps=SERVE_STEPS)[0]
    got = expected.model_dump(mode="json", exclude={"sample_id", "modality_weights"})
    assert e == got  # the same computation as the library's
    plain = client.post("/predict", json={"id": "p1", "modalities": patient}).json()
    assert plain["explanation"] is None
    assert {k: v for k, v in plain.items() if k != "explanation"} == {
        k: v for k, v in answer.items() if k != "explanation"
    }


def test_explain_is_for_one_patient_and_top_k_is_checked(sim_bundle, monkeypatch):
    client = client_for(sim_bundle, monkeypatch)
    patient = {"modalities": full_patient(sim_bundle)}
    batch = client.post("/predict/batch", json={"patients": [{**patient, "explain": True}]})
    assert batch.status_code == 422 and batch.json()["detail"][0]["loc"][-1] == "explain"
    bad = client.post("/predict", json={**patient, "explain": True, "top_k": 0})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "top_k"]


def test_scikit_learn_bundle_explains_and_an_old_bundle_says_why_not(sim_dataset, tmp_path, monkeypatch):
    run = _train(sim_dataset, "sk-logreg", tmp_path / "run", {})
    bundle = load_bundle(run / "bundle")
    body = {"modalities": {"ehr": {"ehr_0": 1.0, "ehr_1": -0.5}}, "explain": True}
    e = client_for(bundle, monkeypatch).post("/predict", json=body).json()["explanation"]
    assert e["method"] == "linear_shap" and set(e["modalities"]) == {"ehr"} and abs(e["delta"]) < 1e-9
    assert e["modalities"]["ehr"]["features"][0]["value"] in (1.0, -0.5)
    (run / "bundle" / BASELINES_FILE).unlink()  # as saved before attribution baselines were stored
    write_manifest(run / "bundle")
    old = client_for(load_bundle(run / "bundle"), monkeypatch)
    assert old.get("/model").json()["attributions"].startswith("not available")
    r = old.post("/predict", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "explain"]
    assert "train it again" in r.json()["detail"][0]["msg"]
    assert old.post("/predict", json={"modalities": body["modalities"]}).status_code == 200


def test_integration_points_are_a_server_setting(sim_bundle, monkeypatch):
    from omnifuse.errors import ConfigError

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    client = TestClient(create_app(sim_bundle, ServeSettings(explain_steps=16)))
    assert "(16 points)" in client.get("/model").json()["attributions"]
    with pytest.raises(ConfigError, match="explain_steps"):
        ServeSettings(explain_steps=1)


def test_explained_answers_decide_at_the_bundles_operating_point(sim_bundle, monkeypatch):
    decided = set()
    for threshold in (1e-3, 1 - 1e-3):
        bundle = dataclasses.replace(sim_bundle, info={**sim_bundle.info, "threshold": threshold})
        client = client_for(bundle, monkeypatch)
        request = {"modalities": full_patient(bundle)}
        plain = client.post("/predict", json=request).json()
        explained = client.post("/predict", json={**request, "explain": True}).json()
        assert explained["predicted_class"] == plain["predicted_class"]
        decided.add(plain["predicted_class"])
    assert decided == {"0", "1"}  # the threshold, not the argmax, decided both answers
