"""Sequence encoders (LSTM, GRU-D, transformer) and the GRU-D delta computation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from omnifuse.data.collate import SeriesBatch
from omnifuse.encoders import Encoder, GRUDEncoder, LSTMEncoder, TimeSeriesTransformerEncoder, time_since_observed
from omnifuse.encoders.grud import last_observed
from omnifuse.errors import ConfigError, DataError

C = 3
LENGTHS = (5, 3, 0, 1)  # row 2 has no step (absent modality)

FACTORIES: dict[str, Callable[[], Encoder]] = {
    "lstm": lambda: LSTMEncoder(C, 16, hidden=12, layers=2, dropout=0.1),
    "grud": lambda: GRUDEncoder(C, 16, hidden=12),
    "transformer": lambda: TimeSeriesTransformerEncoder(C, 16, d_model=16, n_heads=2, layers=2, ff_dim=32),
}


def make_series(lengths: tuple[int, ...] = LENGTHS, T: int = 5, seed: int = 0, p_obs: float = 0.6) -> SeriesBatch:
    g = torch.Generator().manual_seed(seed)
    B = len(lengths)
    step_mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]
    observed = (torch.rand(B, T, C, generator=g) < p_obs) & step_mask[..., None]
    values = torch.where(observed, torch.randn(B, T, C, generator=g), torch.zeros(()))
    gaps = torch.rand(B, T, generator=g) * 3 + 0.1
    times = torch.where(step_mask, torch.cumsum(gaps, dim=1), torch.zeros(()))
    return SeriesBatch(values, observed, times, step_mask)


@pytest.fixture(params=sorted(FACTORIES))
def encoder(request: pytest.FixtureRequest) -> Encoder:
    torch.manual_seed(0)
    return FACTORIES[request.param]()


def test_shape_and_finite(encoder: Encoder) -> None:
    x = make_series()
    for mode in (encoder.train, encoder.eval):
        mode()
        out = encoder(x)
        assert out.shape == (len(LENGTHS), encoder.output_dim) == (4, 16)
        assert torch.isfinite(out).all()


def test_batches_without_any_step(encoder: Encoder) -> None:
    encoder.eval()
    assert torch.isfinite(encoder(make_series((0, 0)))).all()
    empty = SeriesBatch(
        torch.zeros(2, 0, C),
        torch.zeros(2, 0, C, dtype=torch.bool),
        torch.zeros(2, 0),
        torch.zeros(2, 0, dtype=torch.bool),
    )
    assert encoder(empty).shape == (2, 16)


def test_unobserved_and_padding_values_are_ignored(encoder: Encoder) -> None:
    encoder.eval()
    x = make_series()
    g = torch.Generator().manual_seed(5)
    noisy = SeriesBatch(
        torch.where(x.observed, x.values, 1e4 * torch.randn(x.values.shape, generator=g)),
        x.observed | ~x.step_mask[..., None],  # contract violation on padding steps: still ignored
        torch.where(x.step_mask, x.times, 1e3 * torch.rand(x.times.shape, generator=g)),
        x.step_mask,
    )
    with torch.no_grad():
        assert torch.allclose(encoder(x), encoder(noisy), atol=1e-5)
        x.values[~x.observed] = float("nan")
        assert torch.allclose(encoder(x), encoder(noisy), atol=1e-5)


def test_output_does_not_depend_on_padding_length(encoder: Encoder) -> None:
    encoder.eval()
    x = make_series((3, 2), T=3)
    pad = 4
    longer = SeriesBatch(
        torch.cat([x.values, torch.zeros(2, pad, C)], 1),
        torch.cat([x.observed, torch.zeros(2, pad, C, dtype=torch.bool)], 1),
        torch.cat([x.times, torch.zeros(2, pad)], 1),
        torch.cat([x.step_mask, torch.zeros(2, pad, dtype=torch.bool)], 1),
    )
    with torch.no_grad():
        assert torch.allclose(encoder(x), encoder(longer), atol=1e-5)


def test_gradients_flow(encoder: Encoder) -> None:
    encoder.train()
    encoder(make_series()).pow(2).mean().backward()
    for name, p in encoder.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name


def test_input_validation(encoder: Encoder) -> None:
    with pytest.raises(DataError, match="SeriesBatch"):
        encoder(torch.zeros(2, C))
    x = make_series()
    with pytest.raises(DataError, match=f"\\(B, T, {C}\\)"):
        encoder(SeriesBatch(x.values[..., :2], x.observed[..., :2], x.times, x.step_mask))


def test_delta_hand_computed() -> None:
    times = torch.tensor([[0.0, 1.0, 2.5, 4.0, 0.0], [3.0, 5.0, 0.0, 0.0, 0.0]])
    step_mask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 0, 0, 0]], dtype=torch.bool)
    observed = torch.zeros(2, 5, 2, dtype=torch.bool)
    observed[0, [0, 2], 0] = True
    observed[0, 3, 1] = True
    observed[1, 0, 1] = True
    expected = torch.tensor(
        [
            [[0.0, 0.0], [1.0, 1.0], [2.5, 2.5], [1.5, 4.0], [0.0, 0.0]],
            [[0.0, 0.0], [2.0, 2.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]],
        ]
    )
    assert torch.allclose(time_since_observed(times, observed, step_mask), expected)


def _delta_reference(times: torch.Tensor, observed: torch.Tensor) -> torch.Tensor:
    """The recursion of Che et al. (2018), written with loops."""
    B, T, C = observed.shape
    delta = torch.zeros(B, T, C)
    for b in range(B):
        for t in range(1, T):
            gap = times[b, t] - times[b, t - 1]
            delta[b, t] = torch.where(observed[b, t - 1], gap, gap + delta[b, t - 1])
    return delta


def test_delta_matches_recursion_on_random_series() -> None:
    x = make_series((7, 4, 0, 7), T=7, seed=3, p_obs=0.4)
    got = time_since_observed(x.times, x.observed, x.step_mask)
    want = _delta_reference(x.times, x.observed) * x.step_mask[..., None]
    assert torch.allclose(got, want, atol=1e-5)


def test_last_observed_carries_forward_strictly_before() -> None:
    values = torch.tensor([[[1.0], [0.0], [3.0], [0.0]]])
    observed = torch.tensor([[[True], [False], [True], [False]]])
    got = last_observed(values, observed, torch.tensor([-9.0]))
    assert got.flatten().tolist() == [-9.0, 1.0, 1.0, 3.0]


def test_grud_mean_buffer_and_config_errors() -> None:
    enc = GRUDEncoder(C, 8, x_mean=[0.5, -1.0, 2.0])
    assert "x_mean" in dict(enc.named_buffers())
    with pytest.raises(ConfigError, match="x_mean"):
        GRUDEncoder(C, 8, x_mean=[0.0])
    with pytest.raises(ConfigError, match="n_heads"):
        TimeSeriesTransformerEncoder(C, d_model=10, n_heads=4)
