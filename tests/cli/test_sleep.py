"""Sleep staging end to end through the CLI: synthetic EDF nights -> benchmark -> robustness."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_app import run

SLEEP_MODELS = "medfusesleep,medfusesleep-base,early-sleep,midlate-sleep"


@pytest.fixture(scope="module")
def nights(tmp_path_factory):
    out = tmp_path_factory.mktemp("sleep") / "nights"
    mp = pytest.MonkeyPatch()
    import sys

    from omnifuse.cli.app import main

    mp.setattr(
        sys,
        "argv",
        ["omnifuse", "data", "simulate", "--kind", "sleep", "--recordings", "4", "--epochs", "60", "--out", str(out)],
    )
    try:
        main()
    except SystemExit as exc:
        assert not exc.code
    mp.undo()
    return out


def test_benchmark_the_four_sleep_models(nights, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    code, _, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(nights),
        "--models",
        SLEEP_MODELS,
        "--folds",
        "2",
        "--set",
        "max_epochs=2",
        "--out",
        str(out),
    )
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert set(results["methods"]) == set(SLEEP_MODELS.split(","))
    assert results["classes"] == ["W", "N1", "N2", "N3", "REM"]
    for method in results["methods"].values():
        assert 0.0 <= method["metrics"]["kappa"]["mean"] <= 1.0 and method["metrics"]["macro_f1"]["mean"] > 0.0


def test_robustness_masks_eeg_and_eog(nights, tmp_path, monkeypatch, capsys):
    out = tmp_path / "rob"
    code, _, err = run(
        monkeypatch,
        capsys,
        "robustness",
        "--data",
        str(nights),
        "--models",
        "medfusesleep,midlate-sleep",
        "--baseline",
        "midlate-sleep",
        "--folds",
        "2",
        "--missing-rates",
        "0.5",
        "--noise-kinds",
        "gaussian,flatline",
        "--draws",
        "1",
        "--set",
        "max_epochs=2",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads((out / "robustness.json").read_text())
    m = doc["methods"]["medfusesleep"]
    assert set(m["patterns"]) == {
        "eeg",
        "eog",
        "eeg+eog",
    }  # EEG masked, EOG masked, both (Whitlow et al. 2025 section 4.3)
    assert set(m["noise"]["eeg"]) == {"gaussian", "flatline"}
    assert m["patterns"]["eog"]["kappa"]["mean"] is not None
    details = json.loads((out / "details.json").read_text())
    assert set(details["methods"]["medfusesleep"]["per_class_f1"]) == {"W", "N1", "N2", "N3", "REM"}
    hyp = details["hypnogram"]
    assert len(hyp["true"]) == len(hyp["methods"]["medfusesleep"]) > 21
    html = (out / "report.html").read_text()
    assert "Hypnogram" in html and "Per-class F1" in html
