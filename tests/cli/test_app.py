"""The command line through its real entry point (`main`), as a user runs it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from omnifuse.cli import main
from tests.conftest import shared_dataset


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["omnifuse", *args])
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write_cohort(folder: Path, clin: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.csv").write_text("sample_id,label\na,0\nb,1\nc,1\n")
    (folder / "clin.csv").write_text(clin)
    return folder


def test_inspect_json_keys(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age,bmi\na,1,2\nb,3,\n")
    code, out, _ = run(monkeypatch, capsys, "data", "inspect", str(folder), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["n_samples"] == 2  # c has no data at all: dropped with a warning
    assert summary["modalities"]["clin"] == {"kind": "tabular", "n_features": 2, "n_present": 2, "n_absent": 0}
    assert summary["labels"] == {"0": 1, "1": 1} and summary["splits"] == {}


def test_inspect_tables(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age\na,1\nb,3\nc,4\n")
    code, out, _ = run(monkeypatch, capsys, "data", "inspect", str(folder))
    assert code == 0 and "availability patterns" in out and "clin" in out


def test_bad_data_is_one_line_without_traceback(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age\na,1\nb,old\n")
    code, out, err = run(monkeypatch, capsys, "data", "inspect", str(folder))
    assert code == 2
    assert "Traceback" not in err and "clin.csv: row 3, column 'age': non-numeric value 'old'" in err
    assert len(err.strip().splitlines()) == 1


def test_ragged_row_is_one_line_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age,bmi\na,1,2\nb,3,4\nc,5,6\nZZZZ,1,2,3\n")
    out = tmp_path / "converted"
    code, _, err = run(monkeypatch, capsys, "data", "convert", "--data", str(folder), "--out", str(out))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "clin.csv: line 5 has 4 field(s), the header has 3" in err
    assert not out.exists()


def test_missing_path(monkeypatch, capsys, tmp_path):
    code, _, err = run(monkeypatch, capsys, "data", "inspect", str(tmp_path / "nope"))
    assert code == 2 and "no such file or directory" in err


def test_convert_writes_folder_and_refuses_to_clobber(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age\na,1\nb,3\nc,4\n")
    out = tmp_path / "out"
    code, _, _ = run(monkeypatch, capsys, "data", "convert", "--data", str(folder), "--out", str(out))
    assert code == 0 and (out / "labels.csv").exists() and (out / "modalities.yaml").exists()
    code, _, err = run(monkeypatch, capsys, "data", "convert", "--data", str(folder), "--out", str(out))
    assert code == 2 and "not empty" in err


def test_version(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "--version")
    assert code == 0 and out.startswith("omnifuse ")


def test_inspect_breast_tcga_json(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "data", "inspect", str(shared_dataset("breast_tcga")), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["n_samples"] == 220
    assert summary["modalities"]["protein"]["n_present"] == 150
    assert summary["modalities"]["protein"]["n_absent"] == 70
    assert set(summary["labels"]) == {"Basal", "Her2", "LumA"}


def test_inspect_physionet_json(monkeypatch, capsys):
    code, out, _ = run(monkeypatch, capsys, "data", "inspect", str(shared_dataset("physionet2012")), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["n_samples"] == 8000
    assert summary["splits"] == {"a": 4000, "b": 4000}
    assert summary["labels"]["died"] == 1122
    assert set(summary["modalities"]) == {"static", "vitals", "labs"}


def test_convert_refuses_to_write_over_its_input(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age\na,1\nb,3\nc,4\n")
    for out in (folder, folder / "inner", tmp_path):
        code, _, err = run(
            monkeypatch, capsys, "data", "convert", "--data", str(folder), "--out", str(out), "--overwrite"
        )
        assert code == 2 and "overlaps the input" in err
    assert (folder / "clin.csv").exists()


def test_error_messages_keep_square_brackets(tmp_path, monkeypatch, capsys):
    missing = tmp_path / "cohort[v2]"
    code, _, err = run(monkeypatch, capsys, "data", "inspect", str(missing))
    assert code == 2 and "cohort[v2]" in err


def test_raw_text_modality_points_to_extract(tmp_path, monkeypatch, capsys):
    folder = write_cohort(tmp_path / "c", "sample_id,age\na,1\nb,2\nc,3\n")
    (folder / "labels.csv").write_text("sample_id,label\n" + "".join(f"s{i},{i % 2}\n" for i in range(12)))
    (folder / "clin.csv").write_text("sample_id,age\n" + "".join(f"s{i},{i}\n" for i in range(12)))
    (folder / "notes.csv").write_text("sample_id,text\n" + "".join(f"s{i},note {i}\n" for i in range(12)))
    (folder / "modalities.yaml").write_text("modalities:\n  notes: {kind: text, column: text}\n")
    code, _, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(folder),
        "--models",
        "sk-logreg",
        "--folds",
        "2",
        "--out",
        str(tmp_path / "b"),
    )
    assert code == 2 and "omnifuse extract" in err and "Traceback" not in err
