"""The FusionOperator contract, checked for every registered operator and M in {1, 2, 3, 5}."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from omnifuse.fusion import FUSION_OPERATORS, FUSIONS, FusionOperator, FusionOutput

D = 8
MODALITY_COUNTS = (1, 2, 3, 5)
# Operators whose weights come from a softmax over present modalities (sum to 1).
SOFTMAX_WEIGHTS = {"gmu", "attention"}
EXPECTED_NAMES = {
    "concat",
    "sum",
    "product",
    "tensor",
    "lmf",
    "gmu",
    "se-gate",
    "attention",
    "cross-attention",
    "medfuse-lstm",
}

#: Constructor options of each operator's contract case (its defaults unless given). Every
#: registered operator needs an entry (tests/test_completeness.py checks it).
OPTIONS: dict[str, dict[str, Any]] = {
    "concat": {},
    "sum": {},
    "product": {},
    "tensor": {},
    "lmf": {},
    "gmu": {},
    "se-gate": {},
    "attention": {},
    "cross-attention": {},
    "medfuse-lstm": {},
}

CASES = [(name, m) for name in FUSIONS.names() for m in MODALITY_COUNTS]
IDS = [f"{name}-M{m}" for name, m in CASES]


def make_mask(n_modalities: int, seed: int = 0) -> torch.Tensor:
    """Rows: all absent, each single modality present, all present, then random patterns."""
    g = torch.Generator().manual_seed(seed)
    rows = [torch.zeros(n_modalities, dtype=torch.bool)]
    rows += [torch.nn.functional.one_hot(torch.tensor(m), n_modalities).bool() for m in range(n_modalities)]
    rows.append(torch.ones(n_modalities, dtype=torch.bool))
    rows += list(torch.rand(8, n_modalities, generator=g) > 0.5)
    return torch.stack(rows)


def make_operator(name: str, n_modalities: int, seed: int = 0) -> FusionOperator:
    torch.manual_seed(seed)
    return FUSIONS.get(name)(n_modalities, D, **OPTIONS[name])


def test_registry_names() -> None:
    assert set(FUSION_OPERATORS) == EXPECTED_NAMES
    for name, cls in FUSION_OPERATORS.items():
        assert issubclass(cls, FusionOperator)
        assert cls.name == name
        assert cls.__doc__ and cls.paper


@pytest.mark.parametrize(("name", "n_modalities"), CASES, ids=IDS)
def test_shape_and_finite(name: str, n_modalities: int) -> None:
    op = make_operator(name, n_modalities)
    mask = make_mask(n_modalities)
    z = torch.randn(mask.shape[0], n_modalities, D) * 3
    for mode in (op.train, op.eval):
        mode()
        out = op(z, mask)
        assert isinstance(out, FusionOutput)
        assert out.fused.shape == (mask.shape[0], op.output_dim)
        assert torch.isfinite(out.fused).all()
        if out.weights is not None:
            assert out.weights.shape == mask.shape
            assert torch.isfinite(out.weights).all()


@pytest.mark.parametrize(("name", "n_modalities"), CASES, ids=IDS)
def test_absence_invariance(name: str, n_modalities: int) -> None:
    op = make_operator(name, n_modalities).eval()
    mask = make_mask(n_modalities)
    z = torch.randn(mask.shape[0], n_modalities, D)
    z_noisy = z.clone()
    z_noisy[~mask] = torch.randn(int((~mask).sum()), D) * 1e4 + 1e3
    with torch.no_grad():
        a, b = op(z, mask), op(z_noisy, mask)
    torch.testing.assert_close(a.fused, b.fused, rtol=0, atol=0)
    if a.weights is not None:
        torch.testing.assert_close(a.weights, b.weights, rtol=0, atol=0)


@pytest.mark.parametrize(("name", "n_modalities"), CASES, ids=IDS)
def test_weights(name: str, n_modalities: int) -> None:
    op = make_operator(name, n_modalities).eval()
    mask = make_mask(n_modalities)
    out = op(torch.randn(mask.shape[0], n_modalities, D), mask)
    if out.weights is None:
        return
    w = out.weights
    assert (w[~mask] == 0).all()
    assert (w >= 0).all() and (w <= 1).all()
    if name in SOFTMAX_WEIGHTS:
        any_present = mask.any(dim=1)
        torch.testing.assert_close(w[any_present].sum(dim=1), torch.ones(int(any_present.sum())))


@pytest.mark.parametrize(("name", "n_modalities"), CASES, ids=IDS)
def test_gradients(name: str, n_modalities: int) -> None:
    op = make_operator(name, n_modalities).train()
    mask = make_mask(n_modalities)
    z = torch.randn(mask.shape[0], n_modalities, D, requires_grad=True)
    out = op(z, mask)
    probe = torch.randn(out.fused.shape, generator=torch.Generator().manual_seed(1))
    loss = (probe * out.fused).sum() + (out.fused**2).mean()
    if out.weights is not None:
        loss = loss + (probe[:, :n_modalities] * out.weights).sum()
    loss.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()
    # Absent modalities receive exactly zero gradient; present ones receive some.
    assert (z.grad[~mask] == 0).all()
    assert z.grad[mask].abs().sum() > 0
    params = list(op.named_parameters())
    for pname, p in params:
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    if params and not (name == "attention" and n_modalities == 1):  # alpha == 1: no parameter matters
        assert any(p.grad.abs().sum() > 0 for _, p in params)
    if n_modalities >= 2:  # with >= 2 modalities every parameter takes part
        for pname, p in params:
            assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", FUSIONS.names())
def test_all_absent_batch_is_finite(name: str) -> None:
    op = make_operator(name, 3).eval()
    out = op(torch.randn(4, 3, D), torch.zeros(4, 3, dtype=torch.bool))
    assert out.fused.shape == (4, op.output_dim)
    assert torch.isfinite(out.fused).all()
    # "nothing observed" is one value, the same for every sample
    assert torch.equal(out.fused, out.fused[:1].expand_as(out.fused))


@pytest.mark.parametrize("name", FUSIONS.names())
def test_every_operator_builds_from_config_and_is_a_model(name: str) -> None:
    from omnifuse.models.fusion_model import build_fusion
    from omnifuse.models.registry import get_model, prefixed
    from omnifuse.utils.options import constructor_options

    cls = FUSIONS.get(name)
    assert type(build_fusion(name, 3, D, OPTIONS[name])) is cls
    assert set(cls.search_space) <= set(constructor_options(cls, skip=("n_modalities", "dim")))
    entry = get_model(name)
    assert (entry.kind, entry.paper, entry.space) == ("fusion", cls.paper, prefixed(cls.search_space, "fusion"))
