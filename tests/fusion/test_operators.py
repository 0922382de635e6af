"""Operator-specific checks against hand computations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion import (
    AttentionFusion,
    ConcatFusion,
    CrossModalAttentionFusion,
    GatedFusion,
    LowRankFusion,
    MedFuseLSTMFusion,
    ProductFusion,
    SEGateFusion,
    SumFusion,
    TensorFusion,
)

MASK = torch.tensor([[True, True, True], [True, False, True], [False, True, False], [False, False, False]])


@pytest.fixture
def z() -> torch.Tensor:
    return torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0))


def test_sum_matches_hand_computation(z: torch.Tensor) -> None:
    out = SumFusion(3, 5)(z, MASK)
    expected = torch.stack([z[0, 0] + z[0, 1] + z[0, 2], z[1, 0] + z[1, 2], z[2, 1], torch.zeros(5)])
    torch.testing.assert_close(out.fused, expected)
    assert out.weights is None


def test_mean_over_present(z: torch.Tensor) -> None:
    out = SumFusion(3, 5, mean=True)(z, MASK)
    expected = torch.stack([(z[0, 0] + z[0, 1] + z[0, 2]) / 3, (z[1, 0] + z[1, 2]) / 2, z[2, 1], torch.zeros(5)])
    torch.testing.assert_close(out.fused, expected)
    torch.testing.assert_close(out.weights[1], torch.tensor([0.5, 0.0, 0.5]))


def test_concat_appends_mask(z: torch.Tensor) -> None:
    op = ConcatFusion(3, 5)
    out = op(z, MASK)
    assert op.output_dim == 3 * 5 + 3
    expected_row1 = torch.cat([z[1, 0], torch.zeros(5), z[1, 2], torch.tensor([1.0, 0.0, 1.0])])
    torch.testing.assert_close(out.fused[1], expected_row1)
    # absent is distinguishable from a present all-zero embedding
    zero = torch.zeros(1, 3, 5)
    present = ConcatFusion(3, 5)(zero, torch.tensor([[True, True, True]])).fused
    absent = ConcatFusion(3, 5)(zero, torch.tensor([[True, False, True]])).fused
    assert not torch.equal(present, absent)


def test_product_of_bounded_factors(z: torch.Tensor) -> None:
    out = ProductFusion(3, 5)(z, MASK).fused
    f = 1 + torch.tanh(z)
    torch.testing.assert_close(out[0], f[0, 0] * f[0, 1] * f[0, 2])
    torch.testing.assert_close(out[1], f[1, 0] * f[1, 2])
    torch.testing.assert_close(out[2], f[2, 1])
    torch.testing.assert_close(out[3], torch.ones(5))
    huge = ProductFusion(3, 5)(z * 1e6, MASK).fused
    assert torch.isfinite(huge).all() and (huge <= 8).all()


def test_attention_alpha_with_constructed_w() -> None:
    op = AttentionFusion(3, 4)
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    with torch.no_grad():
        op.project.weight.copy_(torch.eye(4))
        op.project.bias.zero_()
        op.score.weight.copy_(w.unsqueeze(0))
    z = torch.tensor([[[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 0.0, 2.0], [-0.5, 0.5, 1.5, -1.5]]] * 2)
    mask = torch.tensor([[True, True, True], [True, False, True]])
    out = op(z, mask)
    s = torch.tanh(z[0]) @ w  # w^T tanh(z_m), attention fusion of Jasthi
    alpha_full = torch.exp(s) / torch.exp(s).sum()
    alpha_02 = torch.exp(s[[0, 2]]) / torch.exp(s[[0, 2]]).sum()
    torch.testing.assert_close(out.weights[0], alpha_full)
    torch.testing.assert_close(out.weights[1], torch.stack([alpha_02[0], torch.tensor(0.0), alpha_02[1]]))
    torch.testing.assert_close(out.fused[0], (alpha_full.unsqueeze(-1) * z[0]).sum(0))
    torch.testing.assert_close(out.fused[1], alpha_02[0] * z[1, 0] + alpha_02[1] * z[1, 2])


def test_tensor_fusion_is_outer_product_for_two_modalities() -> None:
    torch.manual_seed(0)
    op = TensorFusion(2, 6, tensor_dim=3)
    assert op.output_dim == 16
    z = torch.randn(3, 2, 6)
    mask = torch.tensor([[True, True], [True, False], [False, False]])
    out = op(z, mask).fused
    one = torch.ones(1)
    a = torch.cat([op.projections[0](z[0, 0]), one])
    b = torch.cat([op.projections[1](z[0, 1]), one])
    torch.testing.assert_close(out[0], torch.outer(a, b).flatten())
    a1 = torch.cat([op.projections[0](z[1, 0]), one])
    absent = torch.tensor([0.0, 0.0, 0.0, 1.0])
    torch.testing.assert_close(out[1], torch.outer(a1, absent).flatten())
    torch.testing.assert_close(out[2], torch.outer(absent, absent).flatten())


@pytest.mark.parametrize(
    ("n_modalities", "dim", "tensor_dim"),
    [(1, 8, 8), (2, 8, 8), (2, 128, 32), (3, 64, 15), (5, 8, 4), (12, 8, 1)],
)
def test_tensor_dim_fits_budget(n_modalities: int, dim: int, tensor_dim: int) -> None:
    op = TensorFusion(n_modalities, dim)
    assert op.tensor_dim == tensor_dim
    assert op.output_dim == (tensor_dim + 1) ** n_modalities <= 4096


def test_tensor_budget_config_error() -> None:
    expected = r"13 modalities need at least 2\^13 = 8192 features .* budget of 4096"
    with pytest.raises(ConfigError, match=expected):
        TensorFusion(13, 8)
    with pytest.raises(ConfigError, match=r"tensor_dim=8 with 5 modalities gives 59049 features"):
        TensorFusion(5, 8, tensor_dim=8)
    assert TensorFusion(13, 8, budget=8192).output_dim == 8192


def test_lmf_matches_low_rank_formula(z: torch.Tensor) -> None:
    torch.manual_seed(0)
    op = LowRankFusion(3, 5, rank=2, output_dim=7)
    out = op(z, MASK).fused
    assert out.shape == (4, 7)
    for b in range(4):
        prod = torch.ones(2, 7)
        for m in range(3):
            z1 = torch.cat([z[b, m] if MASK[b, m] else torch.zeros(5), torch.ones(1)])
            prod = prod * torch.stack([z1 @ op.factors[m, r] for r in range(2)])
        expected = (op.rank_weights[0].unsqueeze(-1) * prod).sum(0) + op.bias
        torch.testing.assert_close(out[b], expected)
    with pytest.raises(ConfigError, match="rank"):
        LowRankFusion(3, 5, rank=0)


def test_gmu_single_present_modality_is_its_transform(z: torch.Tensor) -> None:
    op = GatedFusion(3, 5)
    out = op(z, MASK)
    torch.testing.assert_close(out.fused[2], torch.tanh(op.transforms[1](z[2, 1])))
    torch.testing.assert_close(out.weights[2], torch.tensor([0.0, 1.0, 0.0]))
    torch.testing.assert_close(out.fused[3], torch.zeros(5))


def test_gmu_two_modalities_is_sigmoid_gate() -> None:
    """For M = 2 the softmax gate is the paper's sigmoid gate ``z h_1 + (1 - z) h_2``."""
    torch.manual_seed(0)
    op = GatedFusion(2, 4)
    x = torch.randn(3, 2, 4)
    out = op(x, torch.ones(3, 2, dtype=torch.bool)).fused
    logits = op.gate(x.flatten(1)).view(3, 2, 4)
    gate = torch.sigmoid(logits[:, 0] - logits[:, 1])
    h1, h2 = torch.tanh(op.transforms[0](x[:, 0])), torch.tanh(op.transforms[1](x[:, 1]))
    torch.testing.assert_close(out, gate * h1 + (1 - gate) * h2)


def test_se_gate_concat_and_sum_agree(z: torch.Tensor) -> None:
    torch.manual_seed(0)
    concat = SEGateFusion(3, 5, reduce="concat")
    summed = SEGateFusion(3, 5, reduce="sum")
    summed.load_state_dict(concat.state_dict())
    a, b = concat(z, MASK), summed(z, MASK)
    assert concat.output_dim == 15 and summed.output_dim == 5
    torch.testing.assert_close(a.fused.view(4, 3, 5).sum(1), b.fused)
    g = a.weights
    assert (g[MASK] > 0).all() and (g[MASK] < 1).all() and (g[~MASK] == 0).all()
    torch.testing.assert_close(a.fused.view(4, 3, 5), g.unsqueeze(-1) * z * MASK.unsqueeze(-1))


def test_se_gate_linear_squeeze_and_bad_options(z: torch.Tensor) -> None:
    op = SEGateFusion(3, 5, squeeze="linear")
    assert torch.isfinite(op(z, MASK).fused).all()
    with pytest.raises(ConfigError, match="reduce"):
        SEGateFusion(3, 5, reduce="max")
    with pytest.raises(ConfigError, match="squeeze"):
        SEGateFusion(3, 5, squeeze="max")


def test_cross_attention_hand_computation() -> None:
    torch.manual_seed(0)
    op = CrossModalAttentionFusion(3, 4).eval()
    x = torch.randn(3, 3, 4)
    mask = torch.tensor([[True, True, False], [False, True, False], [False, False, False]])
    out = op(x, mask).fused
    mha = op.attention
    w_q, w_k, w_v = mha.in_proj_weight.chunk(3)
    b_q, b_k, b_v = mha.in_proj_bias.chunk(3)

    def attend(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        q, k, v = query @ w_q.T + b_q, keys @ w_k.T + b_k, keys @ w_v.T + b_v
        attn = torch.softmax(q @ k.T / 4**0.5, dim=-1)
        return mha.out_proj(attn @ v)

    # row 0: modalities 0 and 1 attend to each other only (2 is absent, self is excluded)
    u0 = op.norm(x[0, 0] + attend(x[0, 0:1], x[0, 1:2])[0])
    u1 = op.norm(x[0, 1] + attend(x[0, 1:2], x[0, 0:1])[0])
    torch.testing.assert_close(out[0], u0 + u1)
    # row 1: a lone modality keeps its own embedding (residual branch only)
    torch.testing.assert_close(out[1], op.norm(x[1, 1]))
    torch.testing.assert_close(out[2], torch.zeros(4))


def test_cross_attention_heads_must_divide_dim() -> None:
    with pytest.raises(ConfigError, match="num_heads"):
        CrossModalAttentionFusion(3, 6, num_heads=4)
    op = CrossModalAttentionFusion(3, 8, num_heads=2).eval()
    x = torch.randn(4, 3, 8)
    assert torch.isfinite(op(x, MASK).fused).all()


def test_medfuse_lstm_runs_over_present_embeddings_only() -> None:
    torch.manual_seed(0)
    op = MedFuseLSTMFusion(4, 6, hidden_dim=5).eval()
    x = torch.randn(5, 4, 6)
    mask = torch.tensor(
        [
            [True, True, True, True],
            [False, True, False, True],
            [True, False, False, False],
            [False, False, False, False],
            [False, False, True, True],
        ]
    )
    with torch.no_grad():
        out = op(x, mask).fused
        assert out.shape == (5, 5)
        for b in range(5):
            if not mask[b].any():
                torch.testing.assert_close(out[b], op.empty)
                continue
            _, (h_n, _) = op.lstm(x[b, mask[b]].unsqueeze(0))
            torch.testing.assert_close(out[b], h_n[-1, 0])


def test_medfuse_lstm_stacked_layers(z: torch.Tensor) -> None:
    op = MedFuseLSTMFusion(3, 5, num_layers=2, dropout=0.1)
    assert op.output_dim == 5
    assert torch.isfinite(op(z, MASK).fused).all()
    assert isinstance(op.lstm, nn.LSTM) and op.lstm.num_layers == 2
