"""Training through the public fit unit: every registered model, edge cases, resume."""

from __future__ import annotations

from dataclasses import replace

import lightning as L
import numpy as np
import pytest
import torch

from omnifuse.balance.base import Strategy
from omnifuse.data.splits import train_val_test_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.models import all_models
from omnifuse.training.config import split_config
from omnifuse.training.fit import SplitContext, fit
from omnifuse.training.module import TrainingDiverged

FAST = {"max_epochs": 2, "embed_dim": 16, "head_hidden": 16, "batch_size": 64}
#: FAST as one config shared by every model: each takes the keys it owns (no sizes for baselines)
FAST_FOR = split_config(FAST, [e.name for e in all_models()])


@pytest.fixture(scope="module")
def split(cohort3):
    train, val, test = train_val_test_indices(cohort3, 0.2, 0.2, seed=0)
    return SplitContext(cohort3, train, val), test


def _sequence_model(entry) -> bool:  # noqa: ANN001
    """Sleep models need epoch sequences of signals (trained in tests/models/sleep and the sleep CLI test)."""
    from omnifuse.models.sleep import SleepSequenceModel

    owner = getattr(entry.build, "__self__", None)
    return isinstance(owner, type) and issubclass(owner, SleepSequenceModel)


def _survival_model(entry) -> bool:  # noqa: ANN001
    """Survival-only models need survival targets (trained in tests/models/test_sklearn_survival.py)."""
    return entry.supported_tasks == ("survival",)


@pytest.mark.parametrize("name", [e.name for e in all_models() if not _sequence_model(e) and not _survival_model(e)])
def test_every_model_trains_and_predicts(split, name):
    context, test = split
    fitted = fit(name, context, FAST_FOR[name])
    probs = fitted.predict_proba(test)
    assert probs.shape == (len(test), 2)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert fitted.n_params() > 0


def test_training_learns_signal(split):
    context, test = split
    # early stopping on the loss: on this simulated cohort it edges out the AUROC monitor of the
    # default (BENCHMARKS.md, "Small-cohort defaults"); the assertion is about learning at all
    fitted = fit("concat", context, {"max_epochs": 30, "monitor": "val_loss"})
    auroc = compute_metrics(fitted.predict_proba(test), context.dataset.y[test], "binary")["auroc"]
    assert auroc > 0.8  # the simulated cohort's dominant modality alone gives ~0.9


def test_sample_with_every_modality_absent_gets_a_defined_answer(split):
    context, test = split
    ds = context.dataset
    empty = ds.replace(mask=np.zeros_like(ds.mask))
    fitted = fit("attention", SplitContext(ds, context.train, context.val), FAST)
    ctx = SplitContext(empty, context.train, context.val)
    fitted.context = ctx
    probs = fitted.predict_proba(test[:5])
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs, probs[:1].repeat(5, axis=0), atol=1e-6)  # same prior-like answer


def test_single_modality_dataset(cohort3):
    ds = cohort3.select_modalities(["ehr"])
    train, val, test = train_val_test_indices(ds, 0.2, 0.2, seed=1)
    for name in ("concat", "attention", "tensor", "medfuse-lstm", "late"):
        probs = fit(name, SplitContext(ds, train, val), FAST).predict_proba(test)
        assert np.isfinite(probs).all()


class PoisonHook(Strategy):
    """Returns a NaN loss term at the 3rd training batch."""

    def __init__(self) -> None:
        self.calls = 0

    def loss_terms(self, output, batch, run):
        self.calls += 1
        return {"poison": torch.tensor(float("nan") if self.calls == 3 else 0.0)}


def test_nan_loss_stops_with_epoch_and_batch(split):
    context, _ = split
    from omnifuse.models import registry

    entry = registry.get_model("concat")
    poisoned = replace(entry, name="poisoned", build=lambda ds, cfg: (entry.build(ds, cfg), [PoisonHook()]))
    with registry.MODELS.isolated():
        registry.register(poisoned)
        with pytest.raises(TrainingDiverged, match=r"loss became nan at epoch 0, batch 2 \(terms: poison\)"):
            fit("poisoned", context, {"max_epochs": 2, "batch_size": 32})


def test_multilabel_rejected_before_training_by_models_that_cannot(cohort3):
    from omnifuse.errors import ConfigError
    from omnifuse.models.base import MultimodalModel
    from omnifuse.models.config import NeuralConfig

    class BinaryOnly(MultimodalModel):
        name = "binary-only"
        tasks = ("binary",)

    with pytest.raises(ConfigError, match="does not support multiclass tasks"):
        BinaryOnly(cohort3.specs, "multiclass", 3, NeuralConfig())


class Crash(L.Callback):
    """Simulates a run killed in the middle of an epoch."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == 1:
            raise RuntimeError("killed")


def test_killed_run_resumes_to_the_same_result(split, tmp_path):
    context, test = split
    cfg = {"max_epochs": 6, "patience": 50, "embed_dim": 16, "batch_size": 32}
    reference = fit("gmu", context, cfg, run_dir=tmp_path / "ref", checkpoints=True).predict_proba(test)
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        fit("gmu", context, cfg, run_dir=run, checkpoints=True, callbacks=[Crash(3)])
    assert (run / "checkpoints" / "last.ckpt").exists()
    resumed = fit("gmu", context, cfg, run_dir=run, checkpoints=True, resume=True).predict_proba(test)
    np.testing.assert_allclose(resumed, reference, rtol=0, atol=1e-6)


def test_val_auroc_monitor_needs_two_classes_in_validation(cohort3):
    from omnifuse.errors import ConfigError

    positives = np.flatnonzero(cohort3.y == 1)
    negatives = np.flatnonzero(cohort3.y == 0)
    context = SplitContext(cohort3, np.concatenate([positives[:40], negatives[:40]]), negatives[40:60])
    with pytest.raises(ConfigError, match="needs both classes in the validation set"):
        fit("concat", context, {"monitor": "val_auroc", "max_epochs": 1})
