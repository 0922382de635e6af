"""A plain torch loop learns stage-dependent spectral peaks with each registered sleep model."""

from __future__ import annotations

import pytest
import torch

from omnifuse.tasks import task_loss
from omnifuse.training.losses import unimodal_loss

from .conftest import MODALITIES, build, separable_batch

L = 21
STEPS = 30


def total_loss(model, inputs, mask, y):
    out = model(inputs, mask)
    loss = task_loss(out.logits, y, "multiclass")
    if out.modality_logits:
        loss = loss + model.config.unimodal_weight * unimodal_loss(
            out.modality_logits, y, mask, model.modalities, "multiclass"
        )
    return loss + sum(out.losses.values(), torch.zeros(())), out


@pytest.mark.parametrize("name", ["medfusesleep", "medfusesleep-base", "early-sleep", "midlate-sleep"])
def test_thirty_steps_learn_separable_sequences(name):
    torch.manual_seed(0)
    modalities = MODALITIES[:2]
    model = build(name, 2)
    test_inputs, test_mask, test_y = separable_batch(2, L, modalities, seed=999)
    model.eval()
    with torch.no_grad():
        before = float(task_loss(model(test_inputs, test_mask).logits, test_y, "multiclass"))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for step in range(STEPS):
        inputs, mask, y = separable_batch(2, L, modalities, seed=step)
        mask[torch.rand(len(y)) < 0.2, step % 2] = False  # some epochs miss a modality
        loss, _ = total_loss(model, inputs, mask, y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    with torch.no_grad():
        out = model(test_inputs, test_mask)
    after = float(task_loss(out.logits, test_y, "multiclass"))
    accuracy = float((out.logits.argmax(dim=1) == test_y).float().mean())
    assert after < 0.5 * before, (before, after)
    assert accuracy > 0.8, accuracy  # chance is 1 / len(STAGES)
