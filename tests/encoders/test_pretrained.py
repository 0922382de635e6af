"""Pretrained backbones as encoders: tiny random models saved to disk, loaded by path."""

from __future__ import annotations

import pytest
import torch

from omnifuse.encoders.base import Encoder
from omnifuse.encoders.pretrained import PretrainedImageEncoder, PretrainedTextEncoder
from omnifuse.errors import ConfigError, DataError
from tests.media.conftest import save_tiny_bert, save_tiny_resnet


@pytest.fixture(scope="module")
def resnet_dir(tmp_path_factory):
    return save_tiny_resnet(tmp_path_factory.mktemp("m") / "resnet")


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return save_tiny_bert(tmp_path_factory.mktemp("m") / "bert")


def test_image_encoder_pooled_output_and_processor_statistics(resnet_dir):
    enc = PretrainedImageEncoder.from_pretrained(resnet_dir)
    assert isinstance(enc, Encoder) and enc.output_dim == 16 and enc.image_size == 224
    assert torch.allclose(enc.mean.flatten(), torch.tensor([0.485, 0.456, 0.406]))
    x = torch.rand(3, 3, 224, 224)
    out = enc(x)
    assert out.shape == (3, 16) and torch.isfinite(out).all()
    assert torch.allclose(enc(x[:1]), out[:1], atol=1e-5)  # a row does not depend on its batch mates
    assert torch.equal(enc(x), out)  # deterministic


def test_image_encoder_rejects_wrong_shapes(resnet_dir):
    enc = PretrainedImageEncoder.from_pretrained(resnet_dir)
    with pytest.raises(DataError, match=r"\(B, 3, H, W\)"):
        enc(torch.rand(2, 224, 224))


def test_frozen_by_default_and_stays_in_eval(resnet_dir):
    enc = PretrainedImageEncoder.from_pretrained(resnet_dir)
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not enc.backbone.training


def test_trainable_gets_gradients_but_batchnorm_keeps_running_statistics(resnet_dir):
    enc = PretrainedImageEncoder.from_pretrained(resnet_dir, trainable=True)
    enc.train()
    assert enc.backbone.training
    norms = [m for m in enc.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms and not any(m.training for m in norms)
    before = norms[0].running_mean.clone()
    enc(torch.rand(2, 3, 64, 64)).sum().backward()
    assert torch.equal(norms[0].running_mean, before)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in enc.parameters())


def test_text_encoder_pooling_and_padding(bert_dir):
    enc = PretrainedTextEncoder.from_pretrained(bert_dir, pooling="mean", max_tokens=12)
    assert enc.output_dim == 16
    tokens = enc.tokenize(["the lungs are clear", "no acute cardiopulmonary process"])
    assert tokens["input_ids"].shape == (2, 12)
    out = enc(["the lungs are clear", "no acute cardiopulmonary process"])
    assert out.shape == (2, 16) and torch.isfinite(out).all()
    # padding to max_tokens and batch mates do not change a text's vector
    assert torch.allclose(enc(["the lungs are clear"]), out[:1], atol=1e-6)


def test_text_truncation_to_max_tokens(bert_dir):
    enc = PretrainedTextEncoder.from_pretrained(bert_dir, max_tokens=6)
    long = " ".join(["effusion"] * 50)
    assert enc.tokenize([long])["input_ids"].shape == (1, 6)
    assert torch.allclose(enc([long]), enc([" ".join(["effusion"] * 4)]), atol=1e-6)  # [CLS] 4 words [SEP]


def test_text_options_are_checked(bert_dir):
    with pytest.raises(ConfigError, match="pooling"):
        PretrainedTextEncoder.from_pretrained(bert_dir, pooling="max")
    with pytest.raises(ConfigError, match="max_tokens"):
        PretrainedTextEncoder.from_pretrained(bert_dir, max_tokens=10_000)


def test_normalize_gives_unit_vectors(bert_dir):
    enc = PretrainedTextEncoder.from_pretrained(bert_dir, normalize=True)
    assert torch.allclose(enc(["heart size is normal", "mild pulmonary edema"]).norm(dim=1), torch.ones(2))


def test_unloadable_directory_is_a_config_error(tmp_path):
    (tmp_path / "config.json").write_text('{"model_type": "resnet"}')  # no weights
    with pytest.raises(ConfigError, match="cannot load"):
        PretrainedImageEncoder.from_pretrained(tmp_path)


def test_a_text_model_is_not_an_image_backbone(bert_dir):
    with pytest.raises(ConfigError, match="does not work as an image backbone"):
        PretrainedImageEncoder.from_pretrained(bert_dir)


def test_an_image_model_is_not_a_text_backbone(resnet_dir):
    with pytest.raises(ConfigError, match="model '.*resnet'"):
        PretrainedTextEncoder.from_pretrained(resnet_dir)
