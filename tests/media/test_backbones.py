"""The backbones' pooling and what sentence-transformers model directories declare."""

from __future__ import annotations

import torch

from omnifuse.media.backbones import cls_pool, mean_pool, sentence_transformers_settings


def test_cls_and_mean_pooling():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 2.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.equal(cls_pool(hidden, mask), torch.tensor([[1.0, 0.0]]))
    assert torch.equal(mean_pool(hidden, mask), torch.tensor([[2.0, 1.0]]))  # padding ignored


def test_sentence_transformers_declarations(tmp_path):
    assert sentence_transformers_settings(tmp_path) == (None, False)
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')
    (tmp_path / "modules.json").write_text(
        '[{"path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},'
        ' {"path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]'
    )
    assert sentence_transformers_settings(tmp_path) == ("cls", True)
