"""AL: InfoNCE between modality embeddings, checked against a direct computation."""

from __future__ import annotations

import math

import torch

from omnifuse.models.sleep.alignment import alignment_loss, info_nce


def direct_info_nce(a: torch.Tensor, b: torch.Tensor, tau: float) -> float:
    """-mean_i log softmax_j(cos(a_i, b_j) / tau)[i], averaged with the b -> a direction."""

    def cos(u: torch.Tensor, v: torch.Tensor) -> float:
        return float(u @ v / (u.norm() * v.norm()))

    n = len(a)
    total = 0.0
    for x, z in ((a, b), (b, a)):
        for i in range(n):
            scores = [math.exp(cos(x[i], z[j]) / tau) for j in range(n)]
            total += -math.log(scores[i] / sum(scores))
    return total / (2 * n)


def test_info_nce_matches_the_direct_formula():
    torch.manual_seed(0)
    a, b = torch.randn(6, 5), torch.randn(6, 5)
    for tau in (0.07, 0.5, 1.0):
        assert math.isclose(float(info_nce(a, b, tau)), direct_info_nce(a, b, tau), rel_tol=1e-5)


def test_aligned_embeddings_score_lower_than_shuffled():
    torch.manual_seed(1)
    a = torch.randn(8, 5)
    aligned = float(info_nce(a, a + 0.01 * torch.randn(8, 5), 0.1))
    shuffled = float(info_nce(a, a[torch.randperm(8)], 0.1))
    assert aligned < 0.1 < shuffled


def test_pairs_use_the_epochs_where_both_are_present():
    torch.manual_seed(2)
    z = torch.randn(7, 3, 4)
    mask = torch.ones(7, 3, dtype=torch.bool)
    mask[[1, 4], 2] = False
    mask[0, 1] = False
    keep01 = mask[:, 0] & mask[:, 1]
    keep02 = mask[:, 0] & mask[:, 2]
    keep12 = mask[:, 1] & mask[:, 2]
    expected = (
        direct_info_nce(z[keep01, 0], z[keep01, 1], 0.2)
        + direct_info_nce(z[keep02, 0], z[keep02, 2], 0.2)
        + direct_info_nce(z[keep12, 1], z[keep12, 2], 0.2)
    ) / 3
    assert math.isclose(float(alignment_loss(z, mask, 0.2)), expected, rel_tol=1e-5)
    # the values of absent (epoch, modality) pairs do not matter
    z2 = z.clone()
    z2[~mask] = 1e3
    assert math.isclose(float(alignment_loss(z2, mask, 0.2)), expected, rel_tol=1e-5)


def test_no_pair_no_loss():
    z = torch.randn(5, 2, 4)
    assert alignment_loss(z[:, :1], torch.ones(5, 1, dtype=torch.bool), 0.1) is None
    one_each = torch.tensor([[1, 0], [0, 1], [1, 0], [0, 1], [1, 1]], dtype=torch.bool)
    assert alignment_loss(z, one_each, 0.1) is None  # a single shared epoch has no negative
