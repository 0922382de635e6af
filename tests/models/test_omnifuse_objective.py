"""OmniFuse's objective: the omega-weighted encoder loss of DWFuse (eq. 12)."""

import torch

from omnifuse.models.omnifuse_objective import dwfuse_encoder_loss


def test_encoder_loss_is_omega_weighted_cross_entropy():
    logits = [torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])]
    y = torch.tensor([0, 1])
    loss, w = dwfuse_encoder_loss(logits, y, beta=0.5)
    p = torch.stack([torch.softmax(lg, -1)[torch.arange(2), y] for lg in logits], dim=1)
    ce = torch.stack([torch.nn.functional.cross_entropy(lg, y, reduction="none") for lg in logits], dim=1)
    w_hand = torch.stack([(1 - p[:, 1]) ** 0.5, (1 - p[:, 0]) ** 0.5], dim=1)
    torch.testing.assert_close(w, w_hand)
    torch.testing.assert_close(loss, (w_hand * ce).sum(1).mean())


def test_absent_heads_are_not_trained_on_their_placeholder():
    logits = [torch.tensor([[4.0, 0.0]]), torch.tensor([[0.0, 4.0]]), torch.tensor([[1.0, 0.0]])]
    present = torch.tensor([[True, False, True]])
    y = torch.tensor([0])
    loss_present, wp = dwfuse_encoder_loss(logits, y, 0.5, present=present)
    assert wp[0, 1] == 0  # the placeholder's head is not trained
