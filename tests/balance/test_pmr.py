"""PMR: prototypes are class means of present samples; prototype losses and coefficients."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from omnifuse.balance import PMR
from omnifuse.models.output import ModelOutput

MODS = ("a", "b")


def constructed() -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    z = {
        "a": torch.tensor([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [4.0, 4.0], [6.0, 2.0], [-5.0, -5.0]]),
        "b": torch.tensor([[1.0, 1.0], [3.0, 3.0], [5.0, 5.0], [7.0, 7.0], [99.0, 99.0], [9.0, 1.0]]),
    }
    y = torch.tensor([0, 0, 0, 1, 1, 2])
    mask = torch.tensor([[1, 1], [1, 1], [0, 1], [1, 1], [1, 0], [1, 1]], dtype=torch.bool)
    return z, y, mask


def test_prototypes_are_class_means_of_present_samples() -> None:
    z, y, mask = constructed()
    pmr = PMR()
    # two batches, as during an epoch
    pmr.accumulate({m: t[:3] for m, t in z.items()}, y[:3], mask[:3], MODS, n_classes=3)
    pmr.accumulate({m: t[3:] for m, t in z.items()}, y[3:], mask[3:], MODS, n_classes=3)
    pmr.update_prototypes()
    a, b = pmr.prototypes["a"], pmr.prototypes["b"]
    torch.testing.assert_close(a[0], torch.tensor([1.0, 0.0]))  # (0,0), (2,0); (10,10) is absent
    torch.testing.assert_close(a[1], torch.tensor([5.0, 3.0]))  # (4,4), (6,2)
    torch.testing.assert_close(a[2], torch.tensor([-5.0, -5.0]))
    torch.testing.assert_close(b[0], torch.tensor([3.0, 3.0]))  # (1,1), (3,3), (5,5)
    torch.testing.assert_close(b[1], torch.tensor([7.0, 7.0]))  # (99,99) is absent
    torch.testing.assert_close(b[2], torch.tensor([9.0, 1.0]))


def test_momentum_update_and_unseen_classes_keep_their_prototype() -> None:
    z, y, mask = constructed()
    pmr = PMR(momentum=0.25)
    pmr.accumulate(z, y, mask, MODS, n_classes=3)
    pmr.update_prototypes()
    old = {m: p.clone() for m, p in pmr.prototypes.items()}
    # next epoch: only class 0 is seen, at (4, 4) in both modalities
    pmr.accumulate(
        {"a": torch.tensor([[4.0, 4.0]]), "b": torch.tensor([[4.0, 4.0]])},
        torch.tensor([0]),
        torch.ones(1, 2, dtype=torch.bool),
        MODS,
        n_classes=3,
    )
    pmr.update_prototypes()
    for m in MODS:
        torch.testing.assert_close(pmr.prototypes[m][0], 0.75 * torch.tensor([4.0, 4.0]) + 0.25 * old[m][0])
        torch.testing.assert_close(pmr.prototypes[m][1:], old[m][1:])


def test_class_never_seen_has_no_prototype() -> None:
    pmr = PMR()
    pmr.accumulate(
        {"a": torch.tensor([[1.0, 2.0]])}, torch.tensor([1]), torch.ones(1, 1, dtype=torch.bool), ("a",), n_classes=3
    )
    pmr.update_prototypes()
    logits = pmr.prototype_logits(torch.tensor([[1.0, 2.0], [3.0, 2.0]]), pmr.prototypes["a"])
    assert torch.isinf(logits[:, 0]).all() and torch.isinf(logits[:, 2]).all()
    torch.testing.assert_close(logits[:, 1], torch.tensor([0.0, -4.0]))


def test_loss_terms_by_hand() -> None:
    pmr = PMR(alpha=2.0, mu=0.5, entropy_epochs=3)
    pmr.prototypes = {"a": torch.tensor([[0.0, 0.0], [1.0, 0.0]]), "b": torch.tensor([[0.0, 0.0], [1.0, 0.0]])}
    y = torch.tensor([0, 1])
    # a sits on its prototypes (confident), b halfway between them (p = 0.5 for both classes)
    z = {"a": torch.tensor([[0.0, 0.0], [1.0, 0.0]]), "b": torch.tensor([[0.5, 0.0], [0.5, 0.0]])}
    out = ModelOutput(torch.zeros(2, 2), embeddings=z)
    module = SimpleNamespace(modalities=MODS, task="binary", current_epoch=0)
    terms = pmr.loss_terms(out, {"y": y, "mask": torch.ones(2, 2, dtype=torch.bool)}, module)
    p_a = 1 / (1 + math.exp(-1.0))  # softmax of (0, -1) at the true class
    s_a, s_b = p_a, 0.5
    rho_a = s_a / s_b
    beta_b = 2.0 * (1 / (s_b / s_a) - 1)  # alpha * (1 / rho_b - 1)
    gamma_a = rho_a - 1
    pce_b = -math.log(0.5)
    h_a = -(p_a * math.log(p_a) + (1 - p_a) * math.log(1 - p_a))
    assert float(terms["pmr_pce"]) == pytest.approx(beta_b * pce_b, rel=1e-5)
    assert float(terms["pmr_entropy"]) == pytest.approx(-0.5 * gamma_a * h_a, rel=1e-5)
    # after the entropy epochs only the prototype term is left
    late = pmr.loss_terms(
        out,
        {"y": y, "mask": torch.ones(2, 2, dtype=torch.bool)},
        SimpleNamespace(modalities=MODS, task="binary", current_epoch=3),
    )
    assert set(late) == {"pmr_pce"}


def test_gradient_of_pce_pulls_weak_modality_to_its_prototype() -> None:
    pmr = PMR(alpha=1.0, mu=0.0)
    pmr.prototypes = {"a": torch.tensor([[0.0], [1.0]]), "b": torch.tensor([[0.0], [1.0]])}
    zb = torch.tensor([[0.4], [0.6]], requires_grad=True)
    out = ModelOutput(torch.zeros(2, 2), embeddings={"a": torch.tensor([[0.0], [1.0]]), "b": zb})
    terms = pmr.loss_terms(
        out,
        {"y": torch.tensor([0, 1]), "mask": torch.ones(2, 2, dtype=torch.bool)},
        SimpleNamespace(modalities=MODS, task="binary", current_epoch=0),
    )
    terms["pmr_pce"].backward()
    assert zb.grad[0, 0] > 0 and zb.grad[1, 0] < 0  # descent moves sample 0 to 0, sample 1 to 1


def test_coefficients_generalise_the_two_modality_case() -> None:
    pmr = PMR(alpha=1.5)
    beta, gamma = pmr.coefficients({"a": 0.9, "b": 0.3})
    assert beta == pytest.approx({"a": 0.0, "b": 1.5 * (3.0 - 1)})
    assert gamma == pytest.approx({"a": 2.0, "b": 0.0})
    beta, gamma = pmr.coefficients({"a": 0.8, "b": 0.4, "c": None})
    assert beta["c"] == 0.0 and gamma["c"] == 0.0 and beta["b"] == pytest.approx(1.5)
    beta, _ = pmr.coefficients({"a": 0.0, "b": 0.5})
    assert beta["a"] == 1.5  # degenerate: the official all-or-nothing boost
