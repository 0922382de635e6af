"""The HTTP API through FastAPI's test client, on OmniFuse trained on a simulated cohort."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from omnifuse.errors import ConfigError
from omnifuse.serving import create_app
from omnifuse.serving.app import TOKEN_ENV, ServeSettings

SECRET_VALUE = 123.456789
SECRET_ID = "patient-Jane-Doe-1970"


@pytest.fixture
def client(sim_bundle, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return TestClient(create_app(sim_bundle, ServeSettings(max_body_bytes=20_000, max_batch=4)))


def full_patient(bundle) -> dict:
    """Every modality, each in another accepted form."""
    ehr, notes, vitals = (bundle.schema.specs[m] for m in ("ehr", "notes", "vitals"))
    return {
        "ehr": {f: 0.5 for f in ehr.feature_names},
        "notes": [0.1] * notes.n_features,
        "vitals": [{"time": 0.0, vitals.feature_names[0]: 1.0}, {"time": 2.5, vitals.feature_names[1]: -0.5}],
    }


def post_raw(client, path, text, **headers):
    return client.post(path, content=text.encode(), headers={"content-type": "application/json", **headers})


def test_health_and_model(client, sim_bundle):
    assert client.get("/health").json() == {"status": "ok", "model": "omnifuse"}
    info = client.get("/model").json()
    assert info["name"] == "omnifuse" and info["task"] == "binary" and info["classes"] == ["0", "1"]
    kinds = {m["name"]: (m["kind"], len(m["features"]), m["accepted"]) for m in info["modalities"]}
    assert kinds == {"ehr": ("tabular", 20, True), "notes": ("embedding", 32, True), "vitals": ("timeseries", 6, True)}
    assert info["modality_weights"].startswith("omega") and info["imputes_absent"] is True
    assert set(info["metrics"]) >= {"auroc", "accuracy"} and info["omnifuse_version"]
    assert "/predict" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_predict_all_and_partial_modalities(client, sim_bundle):
    full = client.post("/predict", json={"id": "p1", "modalities": full_patient(sim_bundle)})
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["id"] == "p1" and body["absent"] == [] and body["imputed"] == []
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert body["predicted_class"] == max(body["probabilities"], key=body["probabilities"].get)
    assert set(body["modality_weights"]) == {"ehr", "notes", "vitals"}

    partial = client.post("/predict", json={"modalities": {"ehr": {"ehr_0": 1.0}}}).json()
    assert partial["present"] == ["ehr"] and partial["absent"] == ["notes", "vitals"]
    assert partial["imputed"] == ["notes", "vitals"]  # OmniFuse imputes absent modalities
    assert partial["modality_weights"]["notes"] == 0.0 and partial["modality_weights"]["ehr"] > 0


def test_batch_answers_in_order_with_ids(client, sim_bundle):
    patients = [{"id": "a", "modalities": full_patient(sim_bundle)}, {"modalities": {"notes": [0.0] * 32}}]
    r = client.post("/predict/batch", json={"patients": patients})
    assert r.status_code == 200, r.text
    answers = r.json()["predictions"]
    assert [a["id"] for a in answers] == ["a", None] and answers[1]["present"] == ["notes"]
    single = client.post("/predict", json=patients[0]).json()
    assert answers[0]["probabilities"] == pytest.approx(single["probabilities"], abs=1e-6)


@pytest.mark.parametrize(
    "body, loc",
    [
        ({"modalities": {"genes": [1.0]}}, ["body", "modalities", "genes"]),
        ({"modalities": {"ehr": {"nope": 1.0}}}, ["body", "modalities", "ehr", "nope"]),
        ({"modalities": {"ehr": [1.0, 2.0]}}, ["body", "modalities", "ehr"]),
        ({"modalities": {"ehr": {"ehr_3": "NaN"}}}, ["body", "modalities", "ehr", "ehr_3"]),
        ({"modalities": {}}, ["body", "modalities"]),
        ({}, ["body", "modalities"]),
        ({"modalities": {"ehr": {"ehr_0": 1}}, "extra": 1}, ["body", "extra"]),
        ({"modalities": {"vitals": [{"HR": 1}]}}, ["body", "modalities", "vitals", 0, "time"]),
        ({"patients": []}, ["body", "modalities"]),
    ],
)
def test_rejections_are_422_naming_the_field(client, body, loc):
    r = client.post("/predict", json=body)
    assert r.status_code == 422, r.text
    assert loc in [d["loc"] for d in r.json()["detail"]], r.json()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_json_numbers_are_422(client, literal):
    r = post_raw(client, "/predict", '{"modalities": {"ehr": {"ehr_1": %s}}}' % literal)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "modalities", "ehr", "ehr_1"]
    assert r.json()["detail"][0]["type"] == "finite_number"


def test_batch_rejections_name_the_patient(client):
    r = client.post(
        "/predict/batch", json={"patients": [{"modalities": {"ehr": {"ehr_0": 1}}}, {"modalities": {"ehr": [1.0]}}]}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "patients", 1, "modalities", "ehr"]
    many = client.post("/predict/batch", json={"patients": [{"modalities": {"ehr": {"ehr_0": 1}}}] * 5})
    assert many.status_code == 422 and many.json()["detail"][0]["loc"] == ["body", "patients"]
    assert "at most 4" in many.json()["detail"][0]["msg"]


def test_oversized_body_is_413(client):
    big = {"modalities": {"ehr": {f"ehr_{i % 20}": 0.123456789 for i in range(20)}}, "id": "x" * 200}
    text = json.dumps(big) + " " * 20_000
    assert post_raw(client, "/predict", text).status_code == 413
    # a body streamed without Content-Length is counted as it arrives
    chunks = iter([text[:10_000].encode(), text[10_000:].encode()])
    r = client.post("/predict", content=chunks, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than 20000 bytes" in r.json()["detail"]
    assert client.post("/predict", json={"modalities": {"ehr": {"ehr_0": 1}}}).status_code == 200


def test_keeps_answering_after_malformed_requests(client, sim_bundle):
    bad = [
        '{"modalities": ',
        "not json",
        "[]",
        "null",
        '{"modalities": {"ehr": {"ehr_0": {"x": 1}}}}',
        '{"modalities": {"vitals": [[1, 2]]}}',
        '{"patients": "x"}',
        '{"modalities": {"ehr": [' + "1," * 5000 + "1]}}",
    ]
    statuses = [post_raw(client, path, text).status_code for text in bad for path in ("/predict", "/predict/batch")]
    statuses.append(
        client.post("/predict", content=b"\xff\xfe", headers={"content-type": "application/json"}).status_code
    )
    statuses.append(client.get("/predict").status_code)
    assert all(400 <= s < 500 for s in statuses), statuses
    r = client.post("/predict", json={"modalities": full_patient(sim_bundle)})
    assert r.status_code == 200 and client.get("/health").status_code == 200


def test_bearer_token(sim_bundle, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, "s3cret-token")
    client = TestClient(create_app(sim_bundle))
    body = {"modalities": {"ehr": {"ehr_0": 1.0}}}
    assert client.get("/health").status_code == 200  # open
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "s3cret-token"},
        {"Authorization": "Basic s3cret-token"},
    ):
        r = client.post("/predict", json=body, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", headers
        assert client.get("/model", headers=headers).status_code == 401
    ok = {"Authorization": "Bearer s3cret-token"}
    assert client.post("/predict", json=body, headers=ok).status_code == 200
    assert client.get("/model", headers=ok).status_code == 200
    assert client.get("/openapi.json").status_code == 401


def test_empty_token_is_refused(sim_bundle, monkeypatch):
    monkeypatch.setenv(TOKEN_ENV, " ")
    with pytest.raises(ConfigError, match=TOKEN_ENV):
        create_app(sim_bundle)


def test_logs_carry_no_patient_data(client, sim_bundle, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    patient = full_patient(sim_bundle)
    patient["ehr"]["ehr_0"] = SECRET_VALUE
    r = client.post("/predict", json={"id": SECRET_ID, "modalities": patient}, headers={"X-Request-ID": "req-42"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "req-42"
    client.post("/predict", json={"id": SECRET_ID, "modalities": {"ehr": {"ehr_0": str(SECRET_VALUE)}}})
    client.get(f"/patients/{SECRET_ID}")
    from omnifuse.serving.answers import Predictor

    def broken(self, dataset):
        raise ValueError(f"cannot handle {SECRET_VALUE} of {SECRET_ID}")

    monkeypatch.setattr(Predictor, "details", broken)
    failed = client.post("/predict", json={"id": SECRET_ID, "modalities": patient})
    assert failed.status_code == 500 and SECRET_ID not in failed.text
    server = ("omnifuse", "uvicorn", "fastapi", "starlette")  # not the test client's own request log
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(server))
    assert "request_id=req-42 method=POST path=/predict status=200" in text
    assert "status=422" in text and "path=(other) status=404" in text and "ValueError" in text
    assert SECRET_ID not in text and str(SECRET_VALUE) not in text and "Jane" not in text


def test_sequence_models_are_not_served(sim_bundle, monkeypatch):
    monkeypatch.setattr(sim_bundle.model, "sequence_length", 21, raising=False)
    with pytest.raises(ConfigError, match="consecutive epochs"):
        create_app(sim_bundle, ServeSettings())


def test_startup_and_shutdown(sim_bundle, monkeypatch):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with TestClient(create_app(sim_bundle, ServeSettings())) as client:  # runs the lifespan
        assert client.post("/predict", json={"modalities": {"ehr": [0.0] * 20}}).status_code == 200
