"""Relative position keys (Shaw et al.): the position term depends only on j - i."""

from __future__ import annotations

import torch

from omnifuse.models.sleep.attention import RelativeKeys, RelativeSelfAttention, relative_index


def test_relative_index_is_toeplitz_and_clipped():
    idx = relative_index(6, 6, max_distance=2)
    K = 2
    for i in range(6):
        for j in range(6):
            assert idx[i, j] == max(-K, min(K, j - i)) + K
    assert torch.equal(idx[1:, 1:], idx[:-1, :-1])  # shifting both positions changes nothing


def test_relative_embeddings_depend_only_on_the_distance():
    keys = RelativeKeys(head_dim=4, max_distance=3)
    a = keys.embeddings(8)  # (8, 8, 4)
    for s in range(1, 4):
        torch.testing.assert_close(a[s:, s:], a[:-s, :-s])
    torch.testing.assert_close(a[0, 7], a[0, 3])  # beyond K: the clipped embedding
    torch.testing.assert_close(a[7, 0], a[4, 0])


def test_position_logits_of_a_constant_query_are_toeplitz():
    keys = RelativeKeys(head_dim=4, max_distance=16)
    q = torch.randn(4).expand(1, 1, 10, 4)
    logits = keys(q)[0, 0]
    assert not torch.allclose(logits, logits[0, 0].expand_as(logits))  # positions matter
    torch.testing.assert_close(logits[1:, 1:], logits[:-1, :-1])


def test_attention_logits_are_translation_equivariant():
    """Cropping the first s positions shifts the logits: e'(i, j) = e(i + s, j + s)."""
    torch.manual_seed(0)
    attn = RelativeSelfAttention(d_model=16, n_heads=4, max_distance=4).eval()
    x = torch.randn(2, 12, 16)
    full = attn.scores(x)
    for s in (1, 3, 5):
        torch.testing.assert_close(attn.scores(x[:, s:]), full[:, :, s:, s:])


def test_attention_without_content_still_sees_order():
    """Identical frames: only relative positions tell positions apart (no absolute encoding)."""
    torch.manual_seed(0)
    attn = RelativeSelfAttention(d_model=16, n_heads=4, max_distance=4).eval()
    x = torch.randn(1, 1, 16).expand(1, 9, 16)
    scores = attn.scores(x)
    torch.testing.assert_close(scores[..., 1:, 1:], scores[..., :-1, :-1])
    assert scores.std() > 0
