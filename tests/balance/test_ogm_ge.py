"""OGM-GE: coefficients by hand for M = 3, gradients modulated on exactly the right module."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from omnifuse.balance import OGMGE
from omnifuse.data.simulate import make_lowquality
from omnifuse.models.fusion_model import FusionModel
from omnifuse.models.output import ModelOutput
from omnifuse.training.batches import TensorStore
from omnifuse.models.config import FusionConfig
from omnifuse.tasks import task_loss
from omnifuse.training.losses import unimodal_loss


def binary_logits(p_true: list[float], y: torch.Tensor) -> torch.Tensor:
    """Two-class logits whose softmax gives probability ``p_true[i]`` to class ``y[i]``."""
    p = torch.tensor(p_true, dtype=torch.float64)
    out = torch.stack([torch.log(1 - p), torch.log(p)], dim=1)
    flip = y == 0
    out[flip] = out[flip].flip(1)
    return out.float()


def test_coefficients_by_hand_three_modalities() -> None:
    y = torch.tensor([1, 0])
    logits = {"a": binary_logits([0.9, 0.7], y), "b": binary_logits([0.6, 0.4], y), "c": binary_logits([0.3, 0.1], y)}
    mask = torch.ones(2, 3, dtype=torch.bool)
    ogm = OGMGE(alpha=0.5)
    scores = ogm.scores(logits, y, mask, ("a", "b", "c"))
    assert scores["a"] == pytest.approx(0.8) and scores["b"] == pytest.approx(0.5) and scores["c"] == pytest.approx(0.2)
    k, rho = ogm.coefficients_from_scores(scores)
    assert rho["a"] == pytest.approx(0.8 / 0.35)
    assert rho["b"] == pytest.approx(0.5 / 0.5)
    assert rho["c"] == pytest.approx(0.2 / 0.65)
    assert k["a"] == pytest.approx(1 - math.tanh(0.5 * (0.8 / 0.35 - 1)), rel=1e-6)
    assert k["b"] == pytest.approx(1.0)  # rho_b = 1 up to float32 rounding
    assert k["c"] == 1.0


def test_absent_samples_do_not_count() -> None:
    y = torch.tensor([1, 1, 1])
    # modality c is absent from the last sample, whose (ignored) logits would make it dominant
    logits = {
        "a": binary_logits([0.6, 0.6, 0.6], y),
        "b": binary_logits([0.4, 0.4, 0.4], y),
        "c": binary_logits([0.2, 0.2, 0.99], y),
    }
    mask = torch.tensor([[1, 1, 1], [1, 1, 1], [1, 1, 0]], dtype=torch.bool)
    ogm = OGMGE(alpha=1.0)
    scores = ogm.scores(logits, y, mask, ("a", "b", "c"))
    assert scores["c"] == pytest.approx(0.2)
    k = ogm.coefficients(logits, y, mask, ("a", "b", "c"))
    assert k["a"] == pytest.approx(1 - math.tanh(0.6 / 0.3 - 1), rel=1e-6)
    assert k["b"] == pytest.approx(1.0) and k["c"] == 1.0
    # the paper's sum over the batch
    summed = OGMGE(reduction="sum").scores(logits, y, mask, ("a", "b", "c"))
    assert summed["a"] == pytest.approx(1.8) and summed["c"] == pytest.approx(0.4)


def test_one_scored_modality_is_not_modulated() -> None:
    y = torch.tensor([1])
    logits = {"a": binary_logits([0.9], y), "b": binary_logits([0.1], y)}
    k = OGMGE(alpha=1.0).coefficients(logits, y, torch.tensor([[True, False]]), ("a", "b"))
    assert k == {"a": 1.0, "b": 1.0}


# ---------------------------------------------------------------------- gradients on a real model
def tiny_model_and_batch(seed: int = 0) -> tuple[FusionModel, dict]:
    ds, _ = make_lowquality(3, n_samples=32, seed=seed)
    cfg = FusionConfig(unimodal_heads=True, embed_dim=8, head_hidden=8, dropout=0.0)
    torch.manual_seed(seed)
    model = FusionModel.from_dataset(ds, cfg)
    batch = TensorStore(ds).batch(np.arange(32))
    return model, batch


def backward(model: FusionModel, batch: dict) -> ModelOutput:
    model.zero_grad()
    out = model(batch["inputs"], batch["mask"])
    loss = task_loss(out.logits, batch["y"], "binary") + unimodal_loss(
        out.modality_logits, batch["y"], batch["mask"], model.modalities, "binary"
    )
    loss.backward()
    return out


def stub_run(model: nn.Module, epoch: int = 0) -> SimpleNamespace:
    """What OGM-GE reads of the training run (one process)."""
    return SimpleNamespace(
        model=model,
        modalities=tuple(model.modalities),
        task="binary",
        current_epoch=epoch,
        world_size=1,
        reduce_sum=lambda t: t,
    )


def dominant_output(model: FusionModel, batch: dict, dominant: str, real: ModelOutput) -> ModelOutput:
    n = len(batch["y"])
    logits = {m: binary_logits([0.9 if m == dominant else 0.5] * n, batch["y"]) for m in model.modalities}
    return ModelOutput(real.logits, logits, None, {}, real.embeddings)


def test_gradients_scaled_on_exactly_the_dominant_encoder() -> None:
    model, batch = tiny_model_and_batch()
    real = backward(model, batch)
    before = {id(p): p.grad.clone() for p in model.parameters() if p.grad is not None}
    output = dominant_output(model, batch, "m1", real)
    ogm = OGMGE(alpha=1.0, ge=False)
    ogm.after_backward(output, batch, stub_run(model))
    k = 1 - math.tanh(1.0 * (0.9 / 0.5 - 1))
    assert ogm.last_coefficients == pytest.approx({"m0": 1.0, "m1": k, "m2": 1.0})
    target = {id(p) for p in model.encoders["m1"].parameters()}
    assert target
    n_scaled = 0
    for p in model.parameters():
        if id(p) not in before:
            continue
        if id(p) in target:
            torch.testing.assert_close(p.grad, before[id(p)] * k)
            n_scaled += 1
        else:
            torch.testing.assert_close(p.grad, before[id(p)], rtol=0, atol=0)
    assert n_scaled == len(target)


def test_gaussian_enhancement_only_touches_encoders() -> None:
    model, batch = tiny_model_and_batch(seed=1)
    real = backward(model, batch)
    before = {id(p): p.grad.clone() for p in model.parameters() if p.grad is not None}
    output = dominant_output(model, batch, "m0", real)
    torch.manual_seed(0)
    ogm = OGMGE(alpha=1.0, ge=True)
    ogm.after_backward(output, batch, stub_run(model))
    k = ogm.last_coefficients
    encoder_params = {id(p): m for m in model.modalities for p in model.encoders[m].parameters()}
    for p in model.parameters():
        if id(p) not in before:
            continue
        if id(p) in encoder_params:
            noise = p.grad - before[id(p)] * k[encoder_params[id(p)]]
            if p.numel() > 100:  # N(0, std(grad)) noise, checked on the larger tensors
                assert float(noise.std()) == pytest.approx(float(before[id(p)].std()), rel=0.25)
        else:
            torch.testing.assert_close(p.grad, before[id(p)], rtol=0, atol=0)


def test_no_modulation_outside_the_window() -> None:
    model, batch = tiny_model_and_batch()
    real = backward(model, batch)
    before = {id(p): p.grad.clone() for p in model.parameters() if p.grad is not None}
    output = dominant_output(model, batch, "m1", real)
    ogm = OGMGE(alpha=1.0, modulation_starts=1, modulation_ends=3)
    ogm.after_backward(output, batch, stub_run(model))
    for p in model.parameters():
        if id(p) in before:
            torch.testing.assert_close(p.grad, before[id(p)], rtol=0, atol=0)
    assert ogm.last_coefficients == {"m0": 1.0, "m1": 1.0, "m2": 1.0}
    assert ogm.in_window(1) and ogm.in_window(2) and not ogm.in_window(3)


class PrefixModel(nn.Module):
    """Encoders named "a" and "ab": selecting by name prefix "encoders.a" would catch both."""

    modalities = ("a", "ab")

    def __init__(self) -> None:
        super().__init__()
        self.encoders = nn.ModuleDict({"a": nn.Linear(3, 2), "ab": nn.Linear(3, 2)})


def test_selection_by_module_not_by_name_prefix() -> None:
    model = PrefixModel()
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    y = torch.tensor([1, 1])
    output = ModelOutput(torch.zeros(2, 2), {"a": binary_logits([0.9, 0.9], y), "ab": binary_logits([0.3, 0.3], y)})
    batch = {"y": y, "mask": torch.ones(2, 2, dtype=torch.bool)}
    ogm = OGMGE(alpha=1.0, ge=False)
    ogm.after_backward(output, batch, stub_run(model))
    k = 1 - math.tanh(0.9 / 0.3 - 1)
    for p in model.encoders["a"].parameters():
        torch.testing.assert_close(p.grad, torch.full_like(p, k))
    for p in model.encoders["ab"].parameters():
        torch.testing.assert_close(p.grad, torch.ones_like(p))


def test_epoch_history() -> None:
    model = PrefixModel()
    y = torch.tensor([1, 1])
    batch = {"y": y, "mask": torch.ones(2, 2, dtype=torch.bool)}
    ogm = OGMGE(alpha=1.0, ge=False)
    run = stub_run(model)
    ogm.training_epoch_start(run)
    for pa in (0.9, 0.5):
        for p in model.parameters():
            p.grad = torch.ones_like(p)
        output = ModelOutput(torch.zeros(2, 2), {"a": binary_logits([pa, pa], y), "ab": binary_logits([0.3, 0.3], y)})
        ogm.after_backward(output, batch, run)
    ogm.training_epoch_done(run)
    k1, k2 = 1 - math.tanh(0.9 / 0.3 - 1), 1 - math.tanh(0.5 / 0.3 - 1)
    assert ogm.coefficients_history == [pytest.approx({"a": (k1 + k2) / 2, "ab": 1.0})]
    assert ogm.ratio_history[0]["a"] == pytest.approx((3.0 + 0.5 / 0.3) / 2)
