"""`omnifuse predict` end to end: --data (with --split) and --input, JSON and CSV outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.serving import load_bundle
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def sim_folder(sim_dataset, tmp_path_factory):
    return write_folder(sim_dataset, tmp_path_factory.mktemp("cohort") / "c")


def test_predict_data_split_json(breast, breast_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "pred.json"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "predict",
        "--run",
        str(breast_runs["omnifuse"]),
        "--data",
        str(breast),
        "--split",
        "test",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["model"] == "omnifuse" and doc["n_samples"] == 70 and doc["modality_weights"].startswith("omega")
    answers = doc["predictions"]
    assert all(a["absent"] == ["protein"] and a["imputed"] == ["protein"] for a in answers)
    ds = load_dataset(breast)
    test = ds.split_indices("test")
    assert [a["id"] for a in answers] == list(ds.sample_ids[test])
    expected = load_bundle(breast_runs["omnifuse"] / "bundle").fitted(ds).predict_proba(test)
    got = np.array([[a["probabilities"][c] for c in ds.class_names] for a in answers])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert "70 samples (70 with absent modalities)" in stdout


def test_predict_csv_is_a_flat_table(breast, breast_runs, tmp_path, monkeypatch, capsys):
    out = tmp_path / "pred.csv"
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(breast_runs["concat"]), "--data", str(breast), "--out", str(out)
    )
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert len(table) == 220
    assert {"id", "predicted_class", "p_Basal", "weight_mrna", "p_mrna_Basal", "absent", "imputed"} <= set(
        table.columns
    )
    assert set(table["absent"]) == {"", "protein"} and set(table["imputed"]) == {""}  # concat does not impute


def test_predict_input_file_single_and_batch(sim_run, sim_bundle, tmp_path, monkeypatch, capsys):
    one = tmp_path / "one.json"
    one.write_text(
        json.dumps({"id": "p1", "modalities": {"ehr": {"ehr_0": 0.3}, "vitals": [{"time": 1.0, "vitals_ch0": 2.0}]}})
    )
    code, _, err = run(
        monkeypatch,
        capsys,
        "predict",
        "--run",
        str(sim_run),
        "--input",
        str(one),
        "--out",
        str(tmp_path / "one_out.json"),
    )
    assert code == 0, err
    answer = json.loads((tmp_path / "one_out.json").read_text())["predictions"][0]
    assert answer["id"] == "p1" and answer["absent"] == ["notes"] and answer["imputed"] == ["notes"]

    batch = tmp_path / "batch.json"
    batch.write_text(
        json.dumps({"patients": [{"modalities": {"notes": [0.0] * 32}}, {"modalities": {"ehr": [1.0] * 20}}]})
    )
    code, _, err = run(
        monkeypatch,
        capsys,
        "predict",
        "--run",
        str(sim_run),
        "--input",
        str(batch),
        "--out",
        str(tmp_path / "batch.csv"),
    )
    assert code == 0, err
    table = pd.read_csv(tmp_path / "batch.csv", keep_default_na=False)
    assert table["present"].tolist() == ["notes", "ehr"]


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"modalities": {"ehr": {"nope": 1}}}', "field 'modalities.ehr.nope': unknown feature"),
        ('{"patients": [{"modalities": {"ehr": [1]}}]}', "field 'patients[0].modalities.ehr': expected 20 values"),
        ('{"modalities": {"ehr": {"ehr_0": NaN}}}', "field 'modalities.ehr.ehr_0': not a finite number"),
        ('{"modalities": {}}', "field 'modalities'"),
        ("[1, 2]", 'expected {"modalities": {...}}'),
        ('{"modalities": ', "not valid JSON"),
    ],
)
def test_predict_input_errors_name_file_and_field(sim_run, tmp_path, monkeypatch, capsys, content, expected):
    path = tmp_path / "in.json"
    path.write_text(content)
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(sim_run), "--input", str(path), "--out", str(tmp_path / "o.json")
    )
    assert code == 2 and str(path) in err and expected in " ".join(err.split()), err
    assert not (tmp_path / "o.json").exists()


def test_predict_data_modalities(sim_folder, sim_run, tmp_path, monkeypatch, capsys):
    sub = tmp_path / "sub_run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(sim_folder),
        "--model",
        "concat",
        "--modalities",
        "ehr,vitals",
        "--set",
        "max_epochs=1",
        "--out",
        str(sub),
    )
    assert code == 0, err
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(sub), "--data", str(sim_folder), "--out", str(tmp_path / "p.json")
    )
    assert code == 0 and "does not use modalities notes" in err
    doc = json.loads((tmp_path / "p.json").read_text())
    assert doc["modalities"] == ["ehr", "vitals"] and doc["n_samples"] == 120  # every sample kept
    # a run on all three modalities against data lacking one: every difference listed
    partial = write_folder(load_dataset(sim_folder).select_modalities(["ehr", "vitals"]), tmp_path / "partial")
    code, _, err = run(
        monkeypatch, capsys, "predict", "--run", str(sim_run), "--data", str(partial), "--out", str(tmp_path / "q.json")
    )
    assert code == 2 and "missing modality 'notes'" in err


@pytest.mark.parametrize(
    "args, out, expected",
    [
        ([], "p.json", "either --data PATH or --input"),
        (["--data", "x", "--input", "y"], "p.json", "either --data PATH or --input"),
        (["--input", "y", "--split", "test"], "p.json", "--split needs --data"),
        (["--data", "x"], "p.txt", "use a .json or .csv file"),
    ],
)
def test_predict_option_errors(sim_run, tmp_path, monkeypatch, capsys, args, out, expected):
    code, _, err = run(monkeypatch, capsys, "predict", "--run", str(sim_run), *args, "--out", str(tmp_path / out))
    assert code == 2 and expected in err
