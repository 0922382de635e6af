"""`omnifuse train --set calibrate=temperature --set conformal=0.9`: run.json and the console
state the temperature and the thresholds per pattern; what cannot work is one line before
anything is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.data.labels import Labels
from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import make_lowquality
from omnifuse.serving import load_bundle
from tests.cli.test_app import run
from tests.serving.conformal_runs import MASKED_PATTERN, OWN_PATTERN, cohort_modalities, conformal_runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return conformal_runs(tmp_path_factory)


def test_run_json_and_console_state_temperature_and_thresholds(runs):
    summary = json.loads((runs.conformal / "run.json").read_text())
    bundle = load_bundle(runs.conformal / "bundle")
    assert summary["calibration"]["temperature"] == bundle.calibration.temperature
    assert summary["calibration"]["fitted_on"] == "validation"
    conformal = summary["conformal"]
    assert conformal["coverage"] == 0.9 and conformal["pooled_threshold"] == bundle.conformal.quantile
    assert conformal["n_calibration"] == summary["n_val"] == 60
    assert conformal["patterns"][OWN_PATTERN] == {
        "threshold": bundle.conformal.patterns[OWN_PATTERN]["quantile"],
        "n": bundle.conformal.patterns[OWN_PATTERN]["n"],
        "source": "pattern",
        "class_thresholds": None,
    }
    assert conformal["patterns"][MASKED_PATTERN]["source"] == "masked"
    assert conformal["pooled_patterns"] == bundle.conformal.small_patterns
    shown = " ".join(runs.conformal_stdout.split())
    assert f"temperature {bundle.calibration.temperature:.3f}" in shown
    own = conformal["patterns"][OWN_PATTERN]
    assert "conformal sets at 0.9 coverage, thresholds:" in shown
    assert f"{OWN_PATTERN} {own['threshold']:.3f} (n={own['n']})" in shown
    assert f"pooled {conformal['pooled_threshold']:.3f} (n=60)" in shown
    masked = conformal["patterns"][MASKED_PATTERN]
    assert f"{MASKED_PATTERN} {masked['threshold']:.3f} (n={masked['n']}, masked)" in shown


def test_run_without_posthoc_states_none(runs):
    summary = json.loads((runs.plain / "run.json").read_text())
    assert summary["calibration"] is None and summary["conformal"] is None


@pytest.fixture(scope="module")
def small_folders(tmp_path_factory):
    """30 binary patients (6 validation), and 40 survival and multilabel ones."""
    root = tmp_path_factory.mktemp("small")
    mods = cohort_modalities()[:2]
    binary, _ = make_lowquality(mods, n_samples=30, seed=2)
    survival, _ = make_lowquality(mods, n_samples=40, seed=2, task="survival")
    y = np.random.default_rng(0).integers(0, 2, size=(30, 3))
    y[:, 0] = 1
    multilabel = binary.replace(labels=Labels("multilabel", y, ("a", "b", "c")))
    return {
        name: write_folder(ds, root / name)
        for name, ds in (("binary", binary), ("survival", survival), ("multilabel", multilabel))
    }


@pytest.mark.parametrize(
    "cohort, settings, message",
    [
        ("binary", ["conformal=1.5"], "error: --set: key 'conformal': Input should be less than 1"),
        ("binary", ["conformal=0"], "error: --set: key 'conformal': Input should be greater than 0"),
        ("binary", ["calibrate=platt"], "error: --set: key 'calibrate': Input should be 'none' or 'temperature'"),
        (
            "binary",
            ["conformal=0.9"],
            "error: conformal=0.9 needs at least 9 validation samples to calibrate on, this run has 6 "
            "(val_fraction=0.2): lower the coverage or give more samples to validation",
        ),
        (
            "survival",
            ["conformal=0.9"],
            "error: conformal=0.9 gives class sets for binary and multiclass tasks, not survival",
        ),
        (
            "multilabel",
            ["conformal=0.9", "calibrate=temperature"],
            "error: conformal=0.9 gives class sets for binary and multiclass tasks, not multilabel",
        ),
        (
            "survival",
            ["calibrate=temperature"],
            "error: calibrate=temperature is for classification tasks, not survival",
        ),
    ],
)
def test_impossible_posthoc_is_one_line_before_anything_is_written(
    small_folders, tmp_path, monkeypatch, capsys, cohort, settings, message
):
    out = tmp_path / "run"
    sets = [a for s in settings for a in ("--set", s)]
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(small_folders[cohort]),
        "--model",
        "concat",
        *sets,
        "--out",
        str(out),
    )
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [message], err  # one line, the whole message
    assert not out.exists()
