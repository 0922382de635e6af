"""`omnifuse serve` wires the bundle, settings and uvicorn (uvicorn itself is replaced here;
benchmarks/serve_load.py runs the real server)."""

from __future__ import annotations

import pytest
import torch
import uvicorn
from fastapi.testclient import TestClient

from omnifuse.serving.app import TOKEN_ENV
from tests.cli.test_app import run


@pytest.fixture
def served(monkeypatch):
    calls = {}

    def fake_run(app, **kwargs):
        calls["app"], calls["kwargs"] = app, kwargs

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.setdefault("threads", n))
    return calls


def test_serve_builds_the_app(sim_run, served, monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, out, err = run(monkeypatch, capsys, "serve", "--run", str(sim_run), "--port", "8123", "--max-batch", "2")
    assert code == 0, err
    assert served["kwargs"]["host"] == "127.0.0.1" and served["kwargs"]["port"] == 8123
    assert served["kwargs"]["access_log"] is False and served["threads"] == 1
    assert "serving omnifuse (ehr, notes, vitals) on http://127.0.0.1:8123" in out and "auth: none" in out
    client = TestClient(served["app"])
    patients = {"patients": [{"modalities": {"ehr": [0.0] * 20}}] * 3}
    assert client.post("/predict/batch", json=patients).status_code == 422  # --max-batch 2


def test_serve_warns_without_token_on_a_public_interface(sim_run, served, monkeypatch, capsys):
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    code, _, err = run(monkeypatch, capsys, "serve", "--run", str(sim_run), "--host", "0.0.0.0")
    assert code == 0 and "without OMNIFUSE_API_TOKEN" in err
    monkeypatch.setenv(TOKEN_ENV, "t0ken")
    code, out, err = run(monkeypatch, capsys, "serve", "--run", str(sim_run), "--host", "0.0.0.0")
    assert code == 0 and "without" not in err and "auth: bearer token" in out


def test_serve_refuses_a_missing_run(served, tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "serve", "--run", str(tmp_path / "nope"))
    assert code == 2 and "no such bundle directory" in err and "app" not in served


def test_serve_states_the_temperature_and_the_sets(served, monkeypatch, capsys, tmp_path_factory):
    from tests.serving.conformal_runs import conformal_runs

    monkeypatch.delenv(TOKEN_ENV, raising=False)
    runs = conformal_runs(tmp_path_factory)
    code, out, err = run(monkeypatch, capsys, "serve", "--run", str(runs.conformal))
    assert code == 0, err
    assert "; temperature " in out and "; conformal sets at 0.9" in out
    code, out, err = run(monkeypatch, capsys, "serve", "--run", str(runs.plain))
    assert code == 0, err
    assert "temperature" not in out and "conformal" not in out
