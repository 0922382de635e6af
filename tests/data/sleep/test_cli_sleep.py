import json

from tests.cli.test_app import run


def test_simulate_sleep_then_inspect(tmp_path, monkeypatch, capsys):
    out = tmp_path / "nights"
    code, stdout, err = run(monkeypatch, capsys, "data", "simulate", "--kind", "sleep", "--out", str(out),
                            "--recordings", "3", "--epochs", "60", "--seed", "2")  # fmt: skip
    assert code == 0, err
    assert "wrote 3 nights of 60 epochs" in stdout
    assert len(list(out.glob("*-PSG.edf"))) == 3 and len(list(out.glob("*-Hypnogram.edf"))) == 3
    code, stdout, err = run(monkeypatch, capsys, "data", "inspect", str(out), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["task"] == "multiclass" and summary["n_groups"] == 3
    assert list(summary["labels"]) == ["W", "N1", "N2", "N3", "REM"]
    assert summary["modalities"]["eeg"]["kind"] == "signal" and summary["modalities"]["eog"]["n_features"] == 128
    assert summary["info"]["source"] == "sleep-edf" and summary["info"]["recordings"] == 3
    code, stdout, _ = run(monkeypatch, capsys, "data", "inspect", str(out))
    assert code == 0 and "eeg+eog" in stdout


def test_simulate_unknown_kind(tmp_path, monkeypatch, capsys):
    code, _, err = run(monkeypatch, capsys, "data", "simulate", "--kind", "ecg", "--out", str(tmp_path / "x"))
    assert code == 2 and "unknown --kind 'ecg'" in err


def test_simulate_cohort_still_default(tmp_path, monkeypatch, capsys):
    code, stdout, err = run(
        monkeypatch, capsys, "data", "simulate", "--out", str(tmp_path / "c"), "-n", "40", "-m", "2"
    )
    assert code == 0, err
    assert (tmp_path / "c" / "labels.csv").exists() and (tmp_path / "c" / "truth.json").exists()
