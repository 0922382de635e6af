"""G-Blend: the weight formula on synthetic loss histories, the blended objective."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from omnifuse.balance import GBlend
from omnifuse.models.output import ModelOutput
from omnifuse.tasks import task_loss

MODS = ("a", "b")


def test_raw_weights_by_hand() -> None:
    # joint: dG = 0.2, dO = (0.5-0.3) - (0.7-0.6) = 0.1  -> 0.2 / 0.01 = 20
    # a:     dG = 0.1, dO = (0.6-0.2) - (0.7-0.5) = 0.2  -> 0.1 / 0.04 = 2.5
    # b:     dG = -0.1 (validation got worse)             -> 0
    t_prev = {"joint": 0.6, "a": 0.5, "b": 0.5}
    v_prev = {"joint": 0.7, "a": 0.7, "b": 0.6}
    t_now = {"joint": 0.3, "a": 0.2, "b": 0.4}
    v_now = {"joint": 0.5, "a": 0.6, "b": 0.7}
    w = GBlend.raw_weights(t_prev, v_prev, t_now, v_now, eps=0.0)
    assert w == pytest.approx({"joint": 20 / 22.5, "a": 2.5 / 22.5, "b": 0.0})
    assert sum(w.values()) == pytest.approx(1.0)


def test_raw_weights_none_when_nothing_generalises_and_nan_heads() -> None:
    same = {"joint": 0.5, "a": 0.5}
    assert GBlend.raw_weights(same, same, same, same) is None
    w = GBlend.raw_weights(
        {"joint": 0.6, "a": 0.6}, {"joint": 0.8, "a": 0.8}, {"joint": 0.5, "a": float("nan")}, {"joint": 0.7, "a": 0.5}
    )
    assert w == {"joint": 1.0, "a": 0.0}


def test_blend_floor_and_smoothing_never_collapse() -> None:
    g = GBlend(floor=0.1, smoothing=0.5)
    prev = {"joint": 1 / 3, "a": 1 / 3, "b": 1 / 3}
    w = g.blend(prev, {"joint": 1.0, "a": 0.0, "b": 0.0})
    assert w["a"] == pytest.approx(0.9 * (1 / 6) + 0.1 / 3)
    assert w["joint"] == pytest.approx(0.9 * (2 / 3) + 0.1 / 3)
    assert sum(w.values()) == pytest.approx(1.0)
    # repeated one-sided estimates never push a head below floor / n_heads
    for _ in range(50):
        w = g.blend(w, {"joint": 1.0, "a": 0.0, "b": 0.0})
    assert min(w.values()) >= 0.1 / 3 - 1e-12
    assert g.blend(prev, None) == pytest.approx(prev)  # no estimate: weights unchanged


def test_objective_is_weighted_sum_of_head_losses() -> None:
    torch.manual_seed(0)
    y = torch.tensor([0, 1, 1, 0])
    mask = torch.tensor([[1, 1], [1, 0], [0, 1], [1, 1]], dtype=torch.bool)
    out = ModelOutput(torch.randn(4, 2), {"a": torch.randn(4, 2), "b": torch.randn(4, 2)})
    g = GBlend()
    g.weights = {"joint": 0.5, "a": 0.3, "b": 0.2}
    module = SimpleNamespace(modalities=MODS, task="binary")
    term = g.loss_terms(out, {"y": y, "mask": mask}, module)["gblend"]
    ce_joint = task_loss(out.logits, y, "binary")
    ce_a = task_loss(out.modality_logits["a"][mask[:, 0]], y[mask[:, 0]], "binary")
    ce_b = task_loss(out.modality_logits["b"][mask[:, 1]], y[mask[:, 1]], "binary")
    total = ce_joint + term  # what the module sums: its task loss plus the strategy term
    assert float(total) == pytest.approx(float(0.5 * ce_joint + 0.3 * ce_a + 0.2 * ce_b), rel=1e-5)


def test_uniform_before_first_estimate_then_formula() -> None:
    """Drive the validation-epoch hook with synthetic per-epoch head losses."""
    g = GBlend(every=1, floor=0.0, smoothing=0.0, eps=0.0)
    logged: dict[str, float] = {}
    run = SimpleNamespace(
        modalities=MODS,
        task="binary",
        log=lambda k, v, **kw: logged.__setitem__(k, v),
        device="cpu",
        reduce_sum=lambda t: t,
    )
    history = [  # (train, validation) mean losses per epoch
        ({"joint": 0.6, "a": 0.6, "b": 0.6}, {"joint": 0.7, "a": 0.7, "b": 0.7}),
        ({"joint": 0.4, "a": 0.5, "b": 0.3}, {"joint": 0.6, "a": 0.65, "b": 0.68}),
    ]
    for epoch, (train, val) in enumerate(history):
        g._train = {h: [v * 10, 10] for h, v in train.items()}  # sums over 10 training samples
        g._val = {h: [v * 4, 4] for h, v in val.items()}  # sums over 4 validation samples
        run.current_epoch = epoch
        g.validation_epoch_done(run)
    assert g.weights_history[0] == pytest.approx({"joint": 1 / 3, "a": 1 / 3, "b": 1 / 3})
    # joint: dG 0.10, dO (0.60-0.4)-(0.1) = 0.10 -> 10
    # a:     dG 0.05, dO (0.65-0.5)-(0.1) = 0.05 -> 20
    # b:     dG 0.02, dO (0.68-0.3)-(0.1) = 0.28 -> 0.02 / 0.0784
    raw = {"joint": 10.0, "a": 20.0, "b": 0.02 / 0.0784}
    total = sum(raw.values())
    assert g.weights_history[1] == pytest.approx({h: v / total for h, v in raw.items()})
    assert logged["gblend_w/a"] == pytest.approx(20.0 / total)
    assert len(g.loss_history) == 2 and g.loss_history[1]["val"]["b"] == pytest.approx(0.68)


def test_every_two_epochs() -> None:
    g = GBlend(every=2, floor=0.0, smoothing=0.0)
    run = SimpleNamespace(
        modalities=("a",), task="binary", log=lambda *a, **k: None, device="cpu", reduce_sum=lambda t: t
    )
    losses = [(0.6, 0.7), (0.5, 0.68), (0.4, 0.6), (0.3, 0.58)]
    for epoch, (t, v) in enumerate(losses):
        g._train = {"joint": [t, 1], "a": [t + 0.1, 1]}
        g._val = {"joint": [v, 1], "a": [v + 0.01, 1]}
        run.current_epoch = epoch
        g.validation_epoch_done(run)
    # snapshot at epoch 1, first estimate at epoch 3 against it
    assert g.weights_history[0] == g.weights_history[1] == g.weights_history[2] == {"joint": 0.5, "a": 0.5}
    assert g.weights_history[3] != {"joint": 0.5, "a": 0.5}


def test_zero_overfitting_change_without_eps() -> None:
    w = GBlend.raw_weights(
        {"joint": 0.5, "a": 0.5}, {"joint": 0.6, "a": 0.6}, {"joint": 0.4, "a": 0.3}, {"joint": 0.5, "a": 0.5}, eps=0.0
    )
    assert w == {"joint": 1.0, "a": 0.0}  # joint: dG > 0 with dO = 0 takes everything
