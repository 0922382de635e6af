import math

import torch

from omnifuse.fusion.dwfuse import blend, inference_omega, omega


def test_omega_hand_computed_three_modalities():
    p = torch.tensor([[0.9, 0.5, 0.2]])
    beta = 0.5
    expected = [
        ((1 - 0.5) * (1 - 0.2)) ** (beta / 2),
        ((1 - 0.9) * (1 - 0.2)) ** (beta / 2),
        ((1 - 0.9) * (1 - 0.5)) ** (beta / 2),
    ]
    torch.testing.assert_close(omega(p, beta), torch.tensor([expected]))


def test_omega_suppresses_a_modality_when_others_are_confident_and_is_constant():
    p = torch.tensor([[0.99, 0.3], [0.1, 0.3]], requires_grad=True)
    w = omega(p, 1.0)
    assert w[0, 1] < 0.02 and math.isclose(w[1, 1].item(), 0.9, rel_tol=1e-6)
    assert not w.requires_grad  # treated as a constant in the gradient (eq. 10)
    assert torch.equal(omega(torch.tensor([[0.7]]), 0.5), torch.ones(1, 1))  # M = 1


def test_blend_is_a_normalised_mixture():
    joint = torch.tensor([[0.0, 0.0]])
    heads = [torch.tensor([[10.0, 0.0]])]
    w = inference_omega(heads, 0.5)
    assert torch.equal(w, torch.ones(1, 1))  # one head: no other modality to defer to
    probs = torch.softmax(blend(joint, heads, torch.tensor([[1.0]])), dim=-1)
    expected = (torch.tensor([0.5, 0.5]) + torch.softmax(heads[0][0], -1)) / 2
    torch.testing.assert_close(probs[0], expected)


def test_absent_modalities_neither_weigh_nor_suppress():
    logits = [torch.tensor([[4.0, 0.0]]), torch.tensor([[0.0, 4.0]]), torch.tensor([[1.0, 0.0]])]
    present = torch.tensor([[True, False, True]])
    w = inference_omega(logits, 0.5, present=present)
    assert w[0, 1] == 0
    p0, p2 = torch.softmax(logits[0], -1).max(), torch.softmax(logits[2], -1).max()
    torch.testing.assert_close(w[0, 0], (1 - p2) ** 0.25)  # the absent head does not suppress m0
    torch.testing.assert_close(w[0, 2], (1 - p0) ** 0.25)
