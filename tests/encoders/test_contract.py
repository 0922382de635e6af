"""The Encoder contract, checked for every registered encoder on every kind it serves.

Each encoder is built through ``build_encoder`` from its small :data:`OPTIONS`, run on a
batch with absent rows, and must give ``(B, output_dim)`` finite embeddings that do not
depend on what the absent rows hold, with finite gradients and auxiliary losses.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from omnifuse.data.collate import SeriesBatch
from omnifuse.data.spec import MODALITY_KINDS, ModalitySpec
from omnifuse.encoders import ENCODERS, Encoder, build_encoder
from omnifuse.encoders.factory import default_encoder_type, encoder_options, kind_types

#: Small constructor options of each encoder's contract case. Every registered encoder needs
#: an entry (tests/test_completeness.py checks it).
OPTIONS: dict[str, dict[str, Any]] = {
    "mlp": {"hidden": 16},
    "dae": {"hidden": 16},
    "identity": {"layer_norm": True},
    "grud": {"hidden": 12},
    "lstm": {"hidden": 12, "layers": 2},
    "transformer": {"d_model": 16, "n_heads": 2, "layers": 1, "ff_dim": 32},
    "summary": {"hidden": [16], "sequence": "grud", "sequence_options": {"hidden": 8}},
}

CASES = [(name, kind) for name in ENCODERS.names() for kind in ENCODERS.get(name).kinds]
IDS = [f"{name}-{kind}" for name, kind in CASES]

PRESENT = torch.tensor([True, False, True, True, False, True])
LENGTHS = (4, 0, 2, 1, 0, 3)  # absent rows have no step
F, C, T, OUT = 5, 3, 4, 8


def spec_of(kind: str) -> ModalitySpec:
    if kind == "timeseries":
        return ModalitySpec("m", kind, tuple(f"c{i}" for i in range(C)), (T, C), time_unit="hours")
    return ModalitySpec("m", kind, tuple(f"f{i}" for i in range(F)), (F,))


def batch_of(kind: str, seed: int = 0, absent_noise: bool = False) -> Any:
    """Six rows (rows 1 and 4 absent); ``absent_noise`` fills the absent rows with junk."""
    g = torch.Generator().manual_seed(seed)
    junk = torch.Generator().manual_seed(seed + 100)
    if kind != "timeseries":
        x = torch.randn(len(PRESENT), F, generator=g)
        x[~PRESENT] = torch.randn(int((~PRESENT).sum()), F, generator=junk) * 1e3 if absent_noise else 0.0
        return x
    step_mask = torch.arange(T)[None, :] < torch.tensor(LENGTHS)[:, None]
    observed = (torch.rand(len(LENGTHS), T, C, generator=g) < 0.7) & step_mask[..., None]
    values = torch.where(observed, torch.randn(len(LENGTHS), T, C, generator=g), torch.zeros(()))
    times = torch.where(step_mask, torch.cumsum(torch.rand(len(LENGTHS), T, generator=g) + 0.5, dim=1), torch.zeros(()))
    if absent_noise:
        values[~PRESENT] = torch.randn(int((~PRESENT).sum()), T, C, generator=junk) * 1e3
    return SeriesBatch(values, observed, times, step_mask)


def build(name: str, kind: str) -> Encoder:
    torch.manual_seed(0)
    output_dim = None if ENCODERS.get(name).keeps_input_size else OUT
    return build_encoder(spec_of(kind), output_dim, {"type": name, **OPTIONS[name]})


def test_declarations() -> None:
    served = kind_types()
    for name, cls in ENCODERS.items():
        assert issubclass(cls, Encoder) and cls.name == name and cls.__doc__
        assert cls.kinds and set(cls.kinds) <= set(MODALITY_KINDS), name
        assert set(cls.default_for) <= set(cls.kinds), name
        assert set(cls.search_space) <= set(encoder_options(name)), name
    for kind, types in served.items():  # one default per kind, listed first
        assert types[0] == default_encoder_type(kind)
        assert [n for n in types if kind in ENCODERS.get(n).default_for] == [types[0]]


@pytest.mark.parametrize(("name", "kind"), CASES, ids=IDS)
def test_shape_finite_and_absent_rows_ignored(name: str, kind: str) -> None:
    enc = build(name, kind)
    assert type(enc) is ENCODERS.get(name)
    x = batch_of(kind)
    for mode in (enc.train, enc.eval):
        mode()
        out = enc(x)
        assert out.shape == (len(PRESENT), enc.output_dim)
        assert torch.isfinite(out).all()
    with torch.no_grad():
        clean, noisy = enc(x), enc(batch_of(kind, absent_noise=True))
    torch.testing.assert_close(clean[PRESENT], noisy[PRESENT])
    assert torch.isfinite(noisy).all()


@pytest.mark.parametrize(("name", "kind"), CASES, ids=IDS)
def test_gradients_and_auxiliary_losses(name: str, kind: str) -> None:
    enc = build(name, kind).train()
    x = batch_of(kind)
    out = enc(x)
    losses = enc.auxiliary_losses(x, PRESENT)
    assert all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    (out[PRESENT].pow(2).mean() + sum(losses.values(), torch.zeros(()))).backward()
    grads = [p.grad for p in enc.parameters() if p.grad is not None]
    assert all(torch.isfinite(g).all() for g in grads)
    if list(enc.parameters()):
        assert any(g.abs().sum() > 0 for g in grads)
