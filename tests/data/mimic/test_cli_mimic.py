import json

import pandas as pd
import pytest

from tests.cli.test_app import run


def mimic_args(mimic, out):
    return ("data", "mimic", "--mimic-iv", str(mimic["mimic_iv"]), "--cxr", str(mimic["cxr"]),
            "--reports", str(mimic["reports"]), "--out", str(out))  # fmt: skip


def test_mimic_then_inspect_shows_three_modalities(mimic, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ihm"
    code, stdout, err = run(monkeypatch, capsys, *mimic_args(mimic, out))
    assert code == 0, err
    assert "wrote 3 ICU stays (1 in-hospital deaths)" in stdout and "ehr 3, cxr 2, report 2" in stdout
    assert "icu_transfer 1" in stdout and "shorter_than_48h 1" in stdout
    assert "unknown categorical values are ignored" in err  # warnings go to stderr
    code, stdout, err = run(monkeypatch, capsys, "data", "inspect", str(out), "--json")
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["n_samples"] == 3 and summary["n_groups"] == 3 and summary["task"] == "binary"
    modalities = summary["modalities"]
    assert sorted(modalities) == ["cxr", "ehr", "report"]
    assert modalities["ehr"]["kind"] == "timeseries" and modalities["ehr"]["n_features"] == 76
    assert modalities["ehr"]["max_steps"] == 24
    assert modalities["cxr"]["kind"] == "image" and modalities["cxr"]["n_present"] == 2
    assert modalities["report"]["kind"] == "text" and modalities["report"]["n_absent"] == 1
    assert summary["patterns"] == {"cxr+ehr+report": 2, "ehr": 1}
    code, stdout, _ = run(monkeypatch, capsys, "data", "inspect", str(out))
    assert code == 0 and "cxr+ehr+report" in stdout


def test_mimic_refuses_a_non_empty_output_and_overlaps(mimic, tmp_path, monkeypatch, capsys):
    out = tmp_path / "ihm"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code, _, err = run(monkeypatch, capsys, *mimic_args(mimic, out))
    assert code == 2 and "not empty" in err
    code, _, err = run(monkeypatch, capsys, *mimic_args(mimic, out), "--overwrite", "--views", "AP")
    assert code == 0, err
    assert json.loads((out / "mimic_summary.json").read_text())["settings"]["views"] == ["AP"]
    code, _, err = run(monkeypatch, capsys, *mimic_args(mimic, mimic["cxr"] / "out"))
    assert code == 2 and "overlaps the input" in err


def test_mimic_missing_file_is_one_line(mimic, tmp_path, monkeypatch, capsys):
    (mimic["mimic_iv"] / "icu" / "chartevents.csv.gz").unlink()
    code, stdout, err = run(monkeypatch, capsys, *mimic_args(mimic, tmp_path / "ihm"))
    assert code == 2
    assert "icu/chartevents.csv.gz: not found" in err and "Traceback" not in err
    assert not (tmp_path / "ihm").exists()


def test_recipe_images_and_reports_feed_omnifuse_extract(mimic, tmp_path, monkeypatch, capsys):
    """cxr.csv (sample_id, path) and report.csv (sample_id, text) are what `omnifuse extract` reads."""
    pytest.importorskip("transformers")
    from tests.media.conftest import save_tiny_bert, save_tiny_resnet

    out = tmp_path / "ihm"
    assert run(monkeypatch, capsys, *mimic_args(mimic, out))[0] == 0
    resnet, bert = save_tiny_resnet(tmp_path / "resnet"), save_tiny_bert(tmp_path / "bert")
    code, _, err = run(monkeypatch, capsys, "extract", "--images", str(out / "cxr.csv"), "--model", str(resnet),
                       "--out", str(tmp_path / "cxr.parquet"))  # fmt: skip
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "extract", "--text", str(out / "report.csv"), "--column", "text",
                       "--model", str(bert), "--out", str(tmp_path / "report.parquet"))  # fmt: skip
    assert code == 0, err
    for name in ("cxr", "report"):
        emb = pd.read_parquet(tmp_path / f"{name}.parquet")
        assert sorted(emb["sample_id"].astype(str)) == ["30000001", "30000002"]
