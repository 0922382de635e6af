"""MLP, identity and denoising-autoencoder encoders for dense vectors."""

from __future__ import annotations

import pytest
import torch

from omnifuse.encoders import DenoisingAEEncoder, Encoder, IdentityEncoder, MLPEncoder
from omnifuse.errors import ConfigError, DataError


def _rows(b: int = 6, f: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, f, generator=g)
    present = torch.tensor([True, False, True, True, False, True])[:b]
    x[~present] = 0.0  # placeholders of absent rows
    return x, present


@pytest.mark.parametrize(
    "enc",
    [
        MLPEncoder(5, 16),
        MLPEncoder(5, 8, hidden=(32, 16), dropout=0.0),
        MLPEncoder(5, 3, hidden=()),
        DenoisingAEEncoder(5, 12, hidden=20),
        IdentityEncoder(5),
        IdentityEncoder(5, layer_norm=True),
    ],
)
def test_shapes_and_finite_with_absent_rows(enc: Encoder) -> None:
    x, _ = _rows()
    enc.eval()
    out = enc(x)
    assert isinstance(enc, Encoder)
    assert out.shape == (6, enc.output_dim)
    assert torch.isfinite(out).all()
    assert enc(torch.zeros(2, 5)).isfinite().all()  # all rows absent


def test_mlp_flattens_extra_dims_and_uses_layernorm() -> None:
    enc = MLPEncoder(12, 4)
    assert enc(torch.randn(3, 3, 4)).shape == (3, 4)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in enc.modules())
    assert any(isinstance(m, torch.nn.LayerNorm) for m in enc.modules())


def test_rows_are_independent() -> None:
    """No batch statistics: a row's embedding does not depend on the other rows."""
    enc = MLPEncoder(5, 8).eval()
    x, _ = _rows()
    x2 = x.clone()
    x2[1:] = 1e3 * torch.randn(5, 5)
    assert torch.allclose(enc(x)[0], enc(x2)[0])


def test_identity_passes_through() -> None:
    x = torch.randn(4, 7)
    enc = IdentityEncoder(7)
    assert enc.output_dim == 7
    assert torch.equal(enc(x), x)


def test_wrong_feature_count_and_bad_args() -> None:
    with pytest.raises(DataError, match="expects 5 features"):
        MLPEncoder(5)(torch.zeros(2, 4))
    with pytest.raises(ConfigError, match="dropout"):
        MLPEncoder(5, dropout=1.5)
    with pytest.raises(ConfigError, match="output_dim"):
        DenoisingAEEncoder(5, output_dim=0)


def test_dae_loss_ignores_absent_rows() -> None:
    enc = DenoisingAEEncoder(5, 4, hidden=8)
    x, present = _rows()
    torch.manual_seed(1)
    loss = enc.auxiliary_losses(x, present)["reconstruction"]
    x2 = x.clone()
    x2[~present] = torch.randn(int((~present).sum()), 5) * 100
    torch.manual_seed(1)
    loss2 = enc.auxiliary_losses(x2, present)["reconstruction"]
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert torch.allclose(loss, loss2)
    x2[~present] = float("nan")  # even NaN placeholders cannot leak in
    torch.manual_seed(1)
    assert torch.allclose(loss, enc.auxiliary_losses(x2, present)["reconstruction"])


def test_dae_loss_zero_when_nothing_present_and_backward_safe() -> None:
    enc = DenoisingAEEncoder(5, 4, hidden=8)
    loss = enc.auxiliary_losses(torch.zeros(3, 5), torch.zeros(3, dtype=torch.bool))["reconstruction"]
    assert loss.item() == 0.0
    loss.backward()  # must not raise


def test_dae_loss_decreases_when_trained() -> None:
    torch.manual_seed(0)
    basis = torch.randn(3, 20)
    x = torch.randn(64, 3) @ basis  # low-rank toy "omics"
    present = torch.rand(64) > 0.2
    enc = DenoisingAEEncoder(20, 8, hidden=32, corruption=0.2, noise_std=0.05)
    opt = torch.optim.Adam(enc.parameters(), lr=1e-2)

    def evaluate() -> float:
        torch.manual_seed(123)
        with torch.no_grad():
            return enc.auxiliary_losses(x, present)["reconstruction"].item()

    before = evaluate()
    for _ in range(60):
        opt.zero_grad()
        enc.auxiliary_losses(x, present)["reconstruction"].backward()
        opt.step()
    assert evaluate() < 0.5 * before


@pytest.mark.parametrize(
    "enc", [MLPEncoder(5, 4), DenoisingAEEncoder(5, 4, hidden=8), IdentityEncoder(5, layer_norm=True)]
)
def test_gradients_flow(enc: Encoder) -> None:
    x, present = _rows()
    loss = enc(x).pow(2).mean()
    for value in enc.auxiliary_losses(x, present).values():
        loss = loss + value
    loss.backward()
    for name, p in enc.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
