"""ume: unimodal networks trained in isolation, each at its own best epoch, pooled on held-out logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omnifuse.data.simulate import make_lowquality
from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.models.registry import get_model
from omnifuse.models.ume import UmeConfig, UniModalEnsemble
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.tasks import task_loss
from omnifuse.training.config import TrainerConfig
from omnifuse.training.fit import SplitContext, fit
from omnifuse.training.module import FusionModule

FAST = {"max_epochs": 25, "patience": 5, "embed_dim": 16, "head_hidden": 16, "batch_size": 32}


def context_of(ds, seed=0):
    train, val, test = train_val_test_indices(ds, 0.25, 0.25, seed=seed)
    return SplitContext(ds, train, val), test


@pytest.fixture(scope="module")
def cohort():
    """Three tabular modalities of unequal signal, each absent for ~10% of the patients."""
    ds, _ = make_lowquality(3, n_samples=240, seed=1)
    return context_of(ds)


@pytest.fixture(scope="module")
def fitted(cohort):
    context, _ = cohort
    return fit("ume", context, FAST)


def test_registered_for_binary_and_multiclass_only():
    entry = get_model("ume")
    assert set(entry.supported_tasks) == {"binary", "multiclass"}
    ds, _ = make_lowquality(2, n_samples=60, seed=0, task="survival")
    with pytest.raises(ConfigError, match="does not support survival"):
        fit("ume", SplitContext(ds, np.arange(40), np.arange(40, 60)), FAST)


def test_an_encoder_gets_no_gradient_from_another_modality_or_the_task_loss(cohort):
    context, _ = cohort
    ds = context.dataset
    model = UniModalEnsemble.from_config(ds, UmeConfig(embed_dim=8, head_hidden=8))
    model.train()
    batch = context.store.batch(context.train[:64])
    first, *others = model.modalities
    out = model(batch["inputs"], batch["mask"])
    present = batch["mask"][:, 0]
    task_loss(out.modality_logits[first][present], batch["y"][present], ds.task).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoders[first].parameters())
    for name in others:
        assert all(p.grad is None for p in model.encoders[name].parameters())
        assert all(p.grad is None for p in model.heads[name].parameters())
    # the training module's task loss (on the combined logits) reaches no encoder at all
    model.zero_grad(set_to_none=True)
    module = FusionModule(model, ds.task, 2, TrainerConfig())
    out = model(batch["inputs"], batch["mask"])
    terms = module.compute_losses(batch, out)
    assert not terms["task"].requires_grad
    terms["unimodal"].backward()
    for name in model.modalities:  # each encoder learns from its own head
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoders[name].parameters())


def test_fit_beats_chance_and_keeps_each_modality_at_its_own_best_epoch(cohort, fitted):
    context, test = cohort
    ds = context.dataset
    assert compute_metrics(fitted.predict_proba(test), ds.y[test], ds.task)["auroc"] > 0.75
    trace = fitted.history["ume"]
    assert set(trace["best_epoch"]) == set(ds.modalities)
    # the restored heads score on the validation samples what they scored at their best epoch
    details = fitted.predict_details(context.val)
    for j, name in enumerate(ds.modalities):
        rows = ds.mask[context.val, j]
        auroc = compute_metrics(details.modality_probs[name][rows], ds.y[context.val][rows], ds.task)["auroc"]
        assert auroc == pytest.approx(trace["best_score"][name], abs=1e-6)
    # training ran until no modality had improved for `patience` epochs
    assert fitted.history["epochs"] == min(max(trace["best_epoch"].values()) + FAST["patience"] + 1, FAST["max_epochs"])
    # the stacker was fitted for every availability pattern
    assert bool(fitted.model.combiner_fitted[1:].all())
    assert set(trace["combiner"]["patterns"]) >= {"+".join(ds.modalities)}


def test_absent_modality_is_scored_from_the_rest_nothing_imputed(cohort, fitted):
    context, test = cohort
    model = fitted.model.eval()
    batch = context.store.batch(test)
    keep = batch["mask"].all(dim=1)
    mask = batch["mask"][keep].clone()
    inputs = {m: v[keep] for m, v in batch["inputs"].items()}
    first = model.modalities[0]
    mask[:, 0] = False
    scrambled = dict(inputs)
    scrambled[first] = torch.randn_like(inputs[first]) * 50
    with torch.no_grad():
        a, b = model(inputs, mask), model(scrambled, mask)
        torch.testing.assert_close(a.logits, b.logits)
        assert bool((a.weights[:, 0] == 0).all())
        # the answer is the two-modality stacker applied to the other modalities' scores
        slot = int(model.pattern_index(mask[:1])[0])
        stacked = torch.stack([a.modality_logits[m] for m in model.modalities], dim=1)
        scores = model.scores(stacked)[:, 1:]
        z = torch.einsum("bmk,mko->bo", scores, model.combiner_weight[slot, 1:]) + model.combiner_bias[slot]
        torch.testing.assert_close(a.logits[:, 1] - a.logits[:, 0], z[:, 0])


def test_a_patient_without_any_modality_gets_even_odds(fitted, cohort):
    context, test = cohort
    batch = context.store.batch(test[:4])
    with torch.no_grad():
        out = fitted.model.eval()(batch["inputs"], torch.zeros_like(batch["mask"]))
    torch.testing.assert_close(out.logits, torch.zeros_like(out.logits))


def test_bundle_round_trip_rebuilds_from_config(fitted, cohort, tmp_path):
    context, _ = cohort
    ds = context.dataset
    save_bundle(fitted, tmp_path / "b")
    again = load_bundle(tmp_path / "b").fitted(ds)
    assert isinstance(again.model, UniModalEnsemble)
    assert bool(again.model.combiner_fitted.any())
    index = np.arange(len(ds))
    np.testing.assert_array_equal(again.predict_proba(index), fitted.predict_proba(index))


@pytest.mark.parametrize("combine", ["mean", "auroc"])
def test_other_combiners_and_multiclass(combine):
    ds, _ = make_lowquality(3, n_samples=180, seed=2, n_classes=3)
    context, test = context_of(ds)
    fitted = fit("ume", context, {**FAST, "model": {"combine": combine, "per_modality_best": combine == "mean"}})
    probs = fitted.predict_proba(test)
    assert probs.shape == (len(test), 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert compute_metrics(probs, ds.y[test], ds.task)["auroc"] > 0.6


def test_multiclass_stacker():
    ds, _ = make_lowquality(2, n_samples=180, seed=3, n_classes=3)
    context, test = context_of(ds)
    fitted = fit("ume", context, {**FAST, "model": {"combine": "stack", "combiner_C": 0.5}})
    assert bool(fitted.model.combiner_fitted[-1])
    assert compute_metrics(fitted.predict_proba(test), ds.y[test], ds.task)["auroc"] > 0.6


def test_unknown_option_is_a_one_line_error():
    with pytest.raises(ConfigError, match="combine"):
        fit("ume", None, {"model": {"combine": "vote"}})  # type: ignore[arg-type]


def test_dense_modalities_get_linear_encoders_unless_configured():
    ds, _ = make_lowquality(2, n_samples=40, seed=0)
    first, second = ds.modalities
    config = UmeConfig(encoders={first: {"hidden": [8]}})
    model = UniModalEnsemble.from_config(ds, config)
    assert model.get_config() == config  # the model reports the config it was given
    assert len([m for m in model.encoders[second].modules() if isinstance(m, torch.nn.Linear)]) == 1
    assert len([m for m in model.encoders[first].modules() if isinstance(m, torch.nn.Linear)]) == 2
    # the config the model reports rebuilds the same network (bundles)
    again = UniModalEnsemble.from_config(ds, model.get_config())
    assert again.config == model.config
    off = UniModalEnsemble.from_config(ds, UmeConfig(model={"linear_dense": False}))
    assert len([m for m in off.encoders[second].modules() if isinstance(m, torch.nn.Linear)]) == 2


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_pooling_weights_are_nonnegative_and_follow_the_signal(task):
    from omnifuse.models.ume import _fit_pool

    rng = np.random.default_rng(0)
    n, k = 400, 1 if task == "binary" else 3
    y = rng.integers(0, 2 if task == "binary" else 3, size=n)
    signal = np.eye(max(k, 2))[y][:, -k:] * 3 + rng.normal(size=(n, k))  # informative
    noise = rng.normal(size=(n, k))  # uninformative
    anti = -signal + rng.normal(size=(n, k))  # misleading: its weight is held at 0
    if task != "binary":  # log-probabilities, as the model gives them
        signal, noise, anti = (x - np.log(np.exp(x).sum(axis=1, keepdims=True)) for x in (signal, noise, anti))
    w, b = _fit_pool(np.stack([signal, noise, anti], axis=1), y, task, C=100.0)
    assert (w >= 0).all()
    assert w[0] > 0.5 and w[0] > 5 * max(w[1], w[2])
    assert w[2] == pytest.approx(0.0, abs=1e-6)
    assert b.shape == (1 if task == "binary" else 3,)
