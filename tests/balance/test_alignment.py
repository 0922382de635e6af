"""Alignment loss: a hand computation, absent modalities ignored."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from omnifuse.balance import AlignmentLoss, alignment_loss
from omnifuse.errors import ConfigError
from omnifuse.models.output import ModelOutput

MODS = ("a", "b", "c")


def embeddings() -> dict[str, torch.Tensor]:
    return {
        "a": torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]),
        "b": torch.tensor([[1.0, 0.0], [1.0, 3.0], [5.0, 5.0]]),
        "c": torch.tensor([[0.0, 2.0], [4.0, 5.0], [9.0, 9.0]]),
    }


def test_hand_computation() -> None:
    z = embeddings()
    mask = torch.tensor([[1, 1, 1], [1, 0, 1], [1, 0, 0]], dtype=torch.bool)
    # sample 0: |a-b|^2 = 1, |a-c|^2 = 4, |b-c|^2 = 1 + 4 = 5  -> 10
    # sample 1: only (a, c): 9 + 16 = 25
    # sample 2: one modality -> 0
    expected = (10 + 25 + 0) / 3
    assert float(alignment_loss(z, mask, MODS)) == pytest.approx(expected)
    hook = AlignmentLoss(weight=0.5)
    out = ModelOutput(torch.zeros(3, 2), embeddings=z)
    terms = hook.loss_terms(out, {"mask": mask}, SimpleNamespace(modalities=MODS))
    assert float(terms["alignment"]) == pytest.approx(0.5 * expected)


def test_absent_modalities_are_ignored() -> None:
    z = embeddings()
    mask = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=torch.bool)
    base = alignment_loss(z, mask, MODS)
    changed = {m: t.clone() for m, t in z.items()}
    changed["c"][0] = torch.tensor([float("nan"), 1e9])  # absent entry: even NaN must not leak
    changed["b"][1] = 1e6
    changed["a"][2] = -7.0
    assert float(alignment_loss(changed, mask, MODS)) == pytest.approx(float(base))
    assert torch.isfinite(alignment_loss(changed, mask, MODS))


def test_gradient_only_on_present_embeddings() -> None:
    z = {m: t.clone().requires_grad_(True) for m, t in embeddings().items()}
    mask = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 0, 1]], dtype=torch.bool)
    alignment_loss(z, mask, MODS).backward()
    assert torch.all(z["c"].grad[0] == 0) and torch.all(z["b"].grad[1] == 0)
    assert torch.all(z["c"].grad[2] == 0)  # alone in its sample
    assert z["a"].grad[0].abs().sum() > 0


def test_single_modality_and_empty_batch_give_zero() -> None:
    z = {"a": torch.randn(4, 3, requires_grad=True)}
    assert float(alignment_loss(z, torch.ones(4, 1, dtype=torch.bool), ("a",)).detach()) == 0.0
    z = {m: torch.zeros(0, 2) for m in MODS}
    assert float(alignment_loss(z, torch.zeros(0, 3, dtype=torch.bool), MODS)) == 0.0


def test_needs_embeddings_of_one_width() -> None:
    z = {"a": torch.zeros(2, 3), "b": torch.zeros(2, 4)}
    with pytest.raises(ConfigError, match="width"):
        alignment_loss(z, torch.ones(2, 2, dtype=torch.bool), ("a", "b"))
    with pytest.raises(ConfigError, match="embeddings"):
        AlignmentLoss().loss_terms(
            ModelOutput(torch.zeros(2, 2)),
            {"mask": torch.ones(2, 2, dtype=torch.bool)},
            SimpleNamespace(modalities=("a", "b")),
        )
