"""``POST /predict`` of a bundle with conformal sets: the set, its coverage target and the
threshold's source in every answer (plain, batch and explained), documented in the OpenAPI
schema; a bundle without them answers null and computes nothing for them."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.serving import create_app, load_bundle
from omnifuse.serving import answers as answers_module
from omnifuse.serving.answers import Predictor
from omnifuse.serving.app import TOKEN_ENV, ServeSettings
from omnifuse.serving.cohort import patients_dataset

from .conformal_runs import MASKED_PATTERN, OWN_PATTERN, conformal_runs
from .test_api import full_patient


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return load_bundle(conformal_runs(tmp_path_factory).conformal / "bundle")


@pytest.fixture
def client(bundle, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return TestClient(create_app(bundle, ServeSettings()))


def patient(bundle, *modalities: str) -> dict:
    values = {
        "clin": {f: 0.3 for f in bundle.schema.specs["clin"].feature_names},
        "omics": [-0.2] * bundle.schema.specs["omics"].n_features,
        "notes": [0.1] * bundle.schema.specs["notes"].n_features,
    }
    return {m: values[m] for m in modalities}


def expected_set(bundle, modalities: dict) -> tuple[list[str], float, bool]:
    """The set, threshold and own-pattern flag the bundle gives this patient, computed directly."""
    ds = patients_dataset([modalities], bundle.schema)
    fitted = bundle.fitted(ds)
    sets = fitted.predict_sets(np.arange(1))[0]
    q, own = bundle.conformal.quantiles(ds.pattern_names(), 1)
    return [c for c, keep in zip(bundle.schema.class_names, sets) if keep], float(q[0]), bool(own[0])


def test_model_states_temperature_and_thresholds(client, bundle):
    info = client.get("/model").json()
    assert info["calibration"] == {
        "method": "temperature",
        "temperature": bundle.calibration.temperature,
        "n_samples": bundle.calibration.n_samples,
    }
    conformal = info["conformal"]
    assert conformal["coverage"] == 0.9 and conformal["pooled_threshold"] == bundle.conformal.quantile
    sources = {"observed": "pattern", "masked": "masked"}
    assert conformal["patterns"] == {
        k: {"threshold": v["quantile"], "n": v["n"], "source": sources[v["source"]], "class_thresholds": None}
        for k, v in bundle.conformal.patterns.items()
    }
    assert conformal["patterns"][MASKED_PATTERN]["source"] == "masked"
    assert conformal["pooled_patterns"] == bundle.conformal.small_patterns and conformal["pooled_patterns"]
    assert conformal["by_class"] is False


def test_absent_modality_gets_its_patterns_threshold(client, bundle):
    body = patient(bundle, "clin", "omics")  # notes absent
    r = client.post("/predict", json={"id": "p1", "modalities": body})
    assert r.status_code == 200, r.text
    answer = r.json()
    classes, q, own = expected_set(bundle, body)
    assert answer["absent"] == ["notes"] and answer["prediction_set"] == classes
    assert own and answer["conformal"] == {
        "coverage": 0.9,
        "pattern": OWN_PATTERN,
        "threshold": bundle.conformal.patterns[OWN_PATTERN]["quantile"],
        "class_thresholds": None,
        "threshold_source": "pattern",
        "n_calibration": bundle.conformal.patterns[OWN_PATTERN]["n"],
    }
    assert q == answer["conformal"]["threshold"] != bundle.conformal.quantile


def test_unseen_pattern_gets_its_masked_threshold(client, bundle):
    body = patient(bundle, "omics")  # no validation patient has omics alone
    answer = client.post("/predict", json={"modalities": body}).json()
    classes, q, own = expected_set(bundle, body)
    assert own and answer["prediction_set"] == classes
    assert answer["conformal"]["threshold_source"] == "masked" and answer["conformal"]["pattern"] == MASKED_PATTERN
    assert answer["conformal"]["threshold"] == q == bundle.conformal.patterns[MASKED_PATTERN]["quantile"]
    assert answer["conformal"]["n_calibration"] == bundle.conformal.patterns[MASKED_PATTERN]["n"]


def test_rare_and_unseen_patterns_use_the_pooled_threshold(client, bundle):
    for mods in (("clin", "notes"), ("omics", "notes")):  # too few validation patients, even masked
        body = patient(bundle, *mods)
        answer = client.post("/predict", json={"modalities": body}).json()
        classes, q, own = expected_set(bundle, body)
        assert not own and answer["prediction_set"] == classes
        assert answer["conformal"]["threshold_source"] == "pooled"
        assert answer["conformal"]["threshold"] == q == bundle.conformal.quantile
        assert answer["conformal"]["n_calibration"] == bundle.conformal.n_calibration


def test_batch_and_explained_answers_carry_the_same_sets(client, bundle):
    bodies = [patient(bundle, "clin", "notes", "omics"), patient(bundle, "clin", "omics"), patient(bundle, "omics")]
    batch = client.post("/predict/batch", json={"patients": [{"modalities": b} for b in bodies]})
    assert batch.status_code == 200, batch.text
    for body, answer in zip(bodies, batch.json()["predictions"]):
        explained = client.post("/predict", json={"modalities": body, "explain": True, "top_k": 2}).json()
        assert explained["explanation"] is not None
        assert answer["prediction_set"] == explained["prediction_set"] == expected_set(bundle, body)[0]
        assert answer["conformal"] == explained["conformal"]
        assert answer["predicted_class"] == explained["predicted_class"]  # both at the stored operating point


def test_openapi_documents_the_set_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Prediction", "ExplainedPrediction"):
        fields = schemas[name]["properties"]
        assert "conformal prediction set" in fields["prediction_set"]["description"].lower()
        assert "coverage" in fields["conformal"]["description"]
    source = schemas["SetThreshold"]["properties"]["threshold_source"]
    assert source["enum"] == ["pattern", "masked", "pooled"] and "availability pattern" in source["description"]
    assert {"calibration", "conformal"} <= set(schemas["ModelInfo"]["properties"])


def test_without_conformal_the_fields_are_null_and_nothing_is_computed(sim_bundle, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("conformal work for a bundle without conformal calibration")

    monkeypatch.setattr(answers_module, "prediction_sets", refuse)
    monkeypatch.setattr(MultimodalDataset, "pattern_names", refuse)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    client = TestClient(create_app(sim_bundle, ServeSettings()))
    info = client.get("/model").json()
    assert info["calibration"] is None and info["conformal"] is None
    for request in (
        {"modalities": full_patient(sim_bundle)},
        {"modalities": full_patient(sim_bundle), "explain": True},
    ):
        answer = client.post("/predict", json=request).json()
        assert "probabilities" in answer and answer["prediction_set"] is None and answer["conformal"] is None
    ds = patients_dataset([full_patient(sim_bundle)], sim_bundle.schema)
    assert Predictor(sim_bundle).answers(ds)[0]["prediction_set"] is None
