"""Embedding files: Parquet/CSV (an embedding modality of the folder format) and safetensors."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.loaders import load_folder
from omnifuse.errors import ConfigError
from omnifuse.media.extract import Embeddings
from omnifuse.media.output import check_output, feature_names, read_embeddings, write_embeddings


@pytest.fixture
def emb():
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    return Embeddings(["a", "b", "d"], vectors, failed=[("img/c.png", "truncated")], model="tiny", settings={"k": 1})


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".safetensors"])
def test_round_trip(tmp_path, emb, suffix):
    out = write_embeddings(emb, tmp_path / "sub" / f"cxr{suffix}")
    ids, vectors = read_embeddings(out)
    assert ids == ["a", "b", "d"] and np.allclose(vectors, emb.vectors, atol=1e-7)


def test_safetensors_metadata(tmp_path, emb):
    from safetensors import safe_open

    out = write_embeddings(emb, tmp_path / "e.safetensors")
    with safe_open(str(out), framework="numpy") as handle:
        meta = handle.metadata()
    assert meta["model"] == "tiny" and '"img/c.png"' in meta["failed"] and meta["format"].startswith("omnifuse")


def test_parquet_is_an_embedding_modality_with_failed_samples_absent(tmp_path, emb):
    cohort = tmp_path / "cohort"
    write_embeddings(emb, cohort / "cxr.parquet")
    (cohort / "labels.csv").write_text("sample_id,label\na,0\nb,1\nc,0\nd,1\n")
    (cohort / "clin.csv").write_text("sample_id,age\na,1\nb,2\nc,3\nd,4\n")
    (cohort / "modalities.yaml").write_text("modalities:\n  cxr: {kind: embedding}\n")
    ds = load_folder(cohort, use_cache=False)
    spec = ds.specs["cxr"]
    assert spec.kind == "embedding" and spec.feature_names == tuple(feature_names(4))
    present = ds.availability("cxr")
    assert present.tolist() == [True, True, False, True]  # the failed image is absent, not zero


def test_feature_names_are_zero_padded():
    assert feature_names(2) == ["emb_000", "emb_001"] and feature_names(1024)[-1] == "emb_1023"


def test_output_checks(tmp_path):
    (tmp_path / "dir.parquet").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        check_output(tmp_path / "dir.parquet")
    with pytest.raises(ConfigError, match="is a directory"):
        check_output(tmp_path)
    with pytest.raises(ConfigError, match="must end in"):
        check_output(tmp_path / "out.npy")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="not a writable directory"):
        check_output(tmp_path / "file" / "out.parquet")
    assert check_output(tmp_path / "new" / "deeper" / "out.csv") == tmp_path / "new" / "deeper" / "out.csv"


def test_read_only_location(tmp_path, monkeypatch):
    from omnifuse.media import output

    monkeypatch.setattr(output.os, "access", lambda path, mode: False)  # as a non-root user sees it
    with pytest.raises(ConfigError, match="not a writable directory"):
        check_output(tmp_path / "out.parquet")
    (tmp_path / "old.csv").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not writable"):
        check_output(tmp_path / "old.csv")
