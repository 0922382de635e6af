"""Every strategy trains end to end through ``fit`` on a small simulated cohort."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import lightning as L
import numpy as np
import pytest

import omnifuse.balance.models  # noqa: F401  (registers the strategies)
from omnifuse.balance import Strategy
from omnifuse.balance.base import STRATEGIES
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.simulate import default_cohort, make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.training.fit import SplitContext, fit


@pytest.fixture(scope="module")
def context() -> SplitContext:
    ds, _ = default_cohort(3, seed=0, n_samples=160)
    idx = np.random.default_rng(0).permutation(len(ds))
    return SplitContext(ds, idx[:100], idx[100:130])


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Strategy]]:
    """The strategy objects ``fit`` builds, for inspecting what they recorded."""
    seen: list[Strategy] = []
    original = Strategy.from_config.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Strategy], *args: object, **kwargs: object) -> Strategy:
        s = original(cls, *args, **kwargs)
        seen.append(s)
        return s

    monkeypatch.setattr(Strategy, "from_config", classmethod(spy))
    yield seen


def check_probabilities(fitted, context: SplitContext) -> None:  # type: ignore[no-untyped-def]
    test = np.setdiff1d(np.arange(len(context.dataset)), np.concatenate([context.train, context.val]))
    probs = fitted.predict_proba(test)
    assert probs.shape == (len(test), len(context.dataset.class_names))
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def check_gblend(strategy: Strategy, context: SplitContext) -> None:
    assert len(strategy.weights_history) == 3
    for w in strategy.weights_history:
        assert set(w) == {"joint", *context.dataset.modalities}
        assert sum(w.values()) == pytest.approx(1.0) and min(w.values()) > 0


def check_ogm_ge(strategy: Strategy, context: SplitContext) -> None:
    assert len(strategy.coefficients_history) == 3
    assert all(0 < k <= 1 for epoch in strategy.coefficients_history for k in epoch.values())


def check_pmr(strategy: Strategy, context: SplitContext) -> None:
    assert set(strategy.prototypes) == set(context.dataset.modalities)
    assert all(np.isfinite(p.numpy()).all() for p in strategy.prototypes.values())
    assert len(strategy.coefficient_history) == 3


def check_modality_dropout(strategy: Strategy, context: SplitContext) -> None:
    assert len(strategy.rate_history) == 3
    assert all(0 < r < 0.2 + 0.1 for epoch in strategy.rate_history for r in epoch.values())


def check_alignment(strategy: Strategy, context: SplitContext) -> None:
    assert strategy.weight == pytest.approx(0.1)  # the default: config.strategy is empty


#: What each registered strategy must have recorded after three epochs. Every registered
#: strategy needs an entry (tests/test_completeness.py), so a new one is trained here too.
CHECKS: dict[str, Callable[[Strategy, SplitContext], None]] = {
    "g-blend": check_gblend,
    "ogm-ge": check_ogm_ge,
    "pmr": check_pmr,
    "modality-dropout": check_modality_dropout,
    "alignment": check_alignment,
}


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_fit_each_strategy(name: str, context: SplitContext, built: list[Strategy]) -> None:
    fitted = fit(name, context, {"max_epochs": 3})
    check_probabilities(fitted, context)
    assert (fitted.model.unimodal_heads is not None) is (name in ("g-blend", "ogm-ge"))
    (strategy,) = built
    assert strategy.name == name
    CHECKS[name](strategy, context)


def test_options_and_base_fusion_through_config(context: SplitContext, built: list[Strategy]) -> None:
    fitted = fit("ogm-ge", context, {"max_epochs": 2, "strategy": {"alpha": 1.0, "base": "attention"}})
    assert fitted.model.fusion_name == "attention"
    assert built[0].alpha == 1.0
    check_probabilities(fitted, context)


@pytest.mark.parametrize("name", ["pmr", "g-blend"])
def test_multiclass_and_two_modalities(name: str) -> None:
    ds, _ = make_lowquality(2, n_samples=90, n_classes=3, seed=1)
    ctx = SplitContext(ds, np.arange(60), np.arange(60, 75))
    check_probabilities(fit(name, ctx, {"max_epochs": 2}), ctx)


def test_multilabel_pmr_fails_before_training() -> None:
    ds, _ = make_lowquality(2, n_samples=30, seed=0)
    y = np.stack([ds.y, 1 - ds.y], axis=1).astype(np.uint8)
    multi = MultimodalDataset(ds.specs, ds.data, ds.mask, Labels("multilabel", y, ("x", "z")), ds.sample_ids)
    ctx = SplitContext(multi, np.arange(20), np.arange(20, 30))
    for name in ("pmr", "ogm-ge"):
        with pytest.raises(ConfigError, match="multilabel"):
            fit(name, ctx, {"max_epochs": 1})
    check_probabilities(fit("g-blend", ctx, {"max_epochs": 1}), ctx)  # G-Blend handles any task


class Crash(L.Callback):
    """Kills the run at the second batch of ``epoch``."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):  # type: ignore[no-untyped-def]
        if trainer.current_epoch == self.epoch and batch_idx == 1:
            raise RuntimeError("killed")


@pytest.mark.parametrize("name", ["g-blend", "ogm-ge", "pmr", "modality-dropout"])
def test_killed_run_resumes_to_the_same_result(name: str, context: SplitContext, tmp_path: Path) -> None:
    """The strategies' state (weights, prototypes, histories) is checkpointed with the model."""
    cfg = {"max_epochs": 4, "patience": 50, "batch_size": 32, "strategy": {"alpha": 1.0} if name == "ogm-ge" else {}}
    test = np.arange(130, 160)
    reference = fit(name, context, cfg, run_dir=tmp_path / "ref", checkpoints=True).predict_proba(test)
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        fit(name, context, cfg, run_dir=run, checkpoints=True, callbacks=[Crash(2)])
    resumed = fit(name, context, cfg, run_dir=run, checkpoints=True, resume=True).predict_proba(test)
    np.testing.assert_allclose(resumed, reference, rtol=0, atol=1e-6)
