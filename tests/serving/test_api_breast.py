"""Seed 000's deployment case on TCGA breast cancer: a test patient with only mRNA and miRNA
(as the real test set is, protein never measured) gets an answer naming protein absent and,
for OmniFuse, imputed."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from omnifuse.data.loaders import load_dataset
from omnifuse.serving import create_app, load_bundle
from omnifuse.serving.app import TOKEN_ENV, ServeSettings


@pytest.fixture(scope="module")
def test_patient(breast):
    """The first test-split patient: its mRNA and miRNA values as the API takes them."""
    ds = load_dataset(breast)
    i = int(ds.split_indices("test")[0])
    assert not ds.mask[i, ds.modality_index("protein")]  # the real test set has no protein
    body = {"id": str(ds.sample_ids[i]), "modalities": {}}
    for m in ("mrna", "mirna"):
        row = ds.data[m][i]
        body["modalities"][m] = {f: float(v) for f, v in zip(ds.specs[m].feature_names, row) if not np.isnan(v)}
    return body, i, ds


def client_for(run, monkeypatch) -> TestClient:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return TestClient(create_app(load_bundle(run / "bundle"), ServeSettings()))


def test_omnifuse_answers_with_protein_imputed(breast_runs, test_patient, monkeypatch):
    body, i, ds = test_patient
    r = client_for(breast_runs["omnifuse"], monkeypatch).post("/predict", json=body)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["id"] == body["id"]
    assert answer["present"] == ["mirna", "mrna"]
    assert answer["absent"] == ["protein"] and answer["imputed"] == ["protein"]
    assert list(answer["probabilities"]) == list(ds.class_names) and ds.task == "multiclass"
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert answer["modality_weights"]["protein"] == 0.0 and answer["modality_weights"]["mrna"] > 0
    assert set(answer["modality_probabilities"]) == {"mirna", "mrna", "protein"}  # protein: its imputed head
    # the same answer as the model on the loaded dataset (the request loses nothing)
    bundle = load_bundle(breast_runs["omnifuse"] / "bundle")
    expected = bundle.fitted(ds).predict_proba(np.array([i]))[0]
    assert [answer["probabilities"][c] for c in ds.class_names] == pytest.approx(expected.tolist(), abs=1e-6)


def test_concat_names_protein_absent_not_imputed(breast_runs, test_patient, monkeypatch):
    body, _, _ = test_patient
    answer = client_for(breast_runs["concat"], monkeypatch).post("/predict", json=body).json()
    assert answer["absent"] == ["protein"] and answer["imputed"] == []
    assert answer["modality_weights"] is None


def test_feature_order_arrays_give_the_same_answer(breast_runs, test_patient, monkeypatch):
    body, i, ds = test_patient
    client = client_for(breast_runs["omnifuse"], monkeypatch)
    arrays = {"modalities": {m: [float(v) for v in ds.data[m][i]] for m in ("mrna", "mirna")}}
    a = client.post("/predict", json=body).json()["probabilities"]
    b = client.post("/predict", json=arrays).json()["probabilities"]
    assert a == pytest.approx(b, abs=1e-7)


def test_omnifuse_explains_the_protein_less_patient(breast_runs, test_patient, monkeypatch):
    """Protein is absent (and imputed): it is listed absent and gets no attribution."""
    body, _, _ = test_patient
    answer = client_for(breast_runs["omnifuse"], monkeypatch).post("/predict", json={**body, "explain": True}).json()
    e = answer["explanation"]
    assert e["absent"] == ["protein"] and set(e["modalities"]) == {"mirna", "mrna"}
    assert sum(m["share"] for m in e["modalities"].values()) == pytest.approx(1.0)
    assert e["target"] == answer["predicted_class"] and e["output"].startswith("log-probability")
    assert all(
        f["value"] == pytest.approx(body["modalities"][m][f["name"]])
        for m in e["modalities"]
        for f in e["modalities"][m]["features"]
    )
