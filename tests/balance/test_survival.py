"""Every strategy on survival tasks: its per-modality scores and losses, then a short fit per head."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import omnifuse.models.strategies  # noqa: F401  (registers the strategies)
from omnifuse.balance import OGMGE, PMR, GBlend, Strategy
from omnifuse.balance.base import STRATEGIES, relative_confidence, sample_confidence, scored_rows
from omnifuse.data.simulate import make_lowquality
from omnifuse.models.output import ModelOutput
from omnifuse.survival import harrell_c
from omnifuse.survival.losses import survival_targets, time_bins
from omnifuse.tasks import sample_score, task_loss, true_class_probability
from omnifuse.training.fit import SplitContext, fit
from omnifuse.training.losses import unimodal_loss


def cox_y(time: list[float], event: list[int]) -> torch.Tensor:
    return torch.tensor([time, event], dtype=torch.float32).T.contiguous()


# ---------------------------------------------------------------------- scores
@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_sample_confidence_is_the_true_class_probability_for_single_label_tasks(task: str) -> None:
    torch.manual_seed(0)
    logits = torch.randn(50, 2 if task == "binary" else 4) * 3
    y = torch.randint(0, logits.shape[1], (50,))
    conf = sample_confidence(logits, y, task)
    assert torch.equal(conf, true_class_probability(logits, y))  # the same numbers as before
    torch.testing.assert_close(sample_score(logits, y, task), conf, rtol=0, atol=1e-6)
    assert scored_rows(logits, y, task).all()


def test_cox_confidence_is_the_risk_set_softmax_of_the_failing_patient() -> None:
    y = cox_y([1.0, 2.0, 3.0, 4.0], [1, 0, 1, 0])
    r = torch.tensor([[2.0], [0.0], [1.0], [-1.0]])
    conf = sample_confidence(r, y, "survival")
    # P(0 fails | risk set {0,1,2,3}) and P(2 | {2, 3}), to the loss's B / n_events = 2
    p0 = math.exp(2) / (math.exp(2) + 1 + math.exp(1) + math.exp(-1))
    p2 = math.exp(1) / (math.exp(1) + math.exp(-1))
    torch.testing.assert_close(conf, torch.tensor([p0**2, 1.0, p2**2, 1.0]))
    assert scored_rows(r, y, "survival").tolist() == [True, False, True, False]  # censored: no evidence


def test_relative_cox_confidence_does_not_depend_on_how_many_samples_a_modality_has() -> None:
    """A constant head scores 1 whatever the size of its risk sets (the plain score would not)."""
    y = cox_y([1, 2, 3, 4, 5, 6, 7, 8], [1, 1, 0, 1, 1, 0, 1, 0])
    flat = torch.zeros(8, 1)
    for rows in (slice(None), slice(0, 4)):
        torch.testing.assert_close(relative_confidence(flat[rows], y[rows], "survival"), torch.ones(len(y[rows])))
    plain_all, plain_half = sample_confidence(flat, y, "survival"), sample_confidence(flat[:4], y[:4], "survival")
    assert float(plain_half[0]) > float(plain_all[0])  # fewer patients at risk: a higher plain score
    # ranking the events above their risk sets scores > 1
    good = -torch.arange(8.0).view(-1, 1)
    assert (relative_confidence(good, y, "survival")[y[:, 1] > 0][:-1] > 1).all()


def test_ogm_ge_scores_a_survival_modality_by_its_events() -> None:
    y = cox_y([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 0, 0])
    rank = -torch.arange(6.0).view(-1, 1)  # the earlier the event, the higher the risk: perfect
    logits = {"a": rank, "b": torch.zeros(6, 1)}
    scores = OGMGE().scores(logits, y, torch.ones(6, 2, dtype=torch.bool), ("a", "b"), task="survival")
    assert scores["b"] == pytest.approx(1.0) and scores["a"] > 1.5
    k = OGMGE(alpha=1.0).coefficients(logits, y, torch.ones(6, 2, dtype=torch.bool), ("a", "b"), task="survival")
    assert k["a"] < 1.0 and k["b"] == 1.0  # the dominant one is slowed down
    # no event among the present samples: nothing to score (not NaN)
    first_two = {m: lg[:2] for m, lg in logits.items()}
    none = OGMGE().scores(first_two, cox_y([1, 2], [0, 0]), torch.ones(2, 2, dtype=torch.bool), ("a", "b"), "survival")
    assert none == {"a": None, "b": None}


def test_ogm_ge_scores_a_logistic_hazard_modality_by_each_patients_likelihood() -> None:
    time, event = torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([1.0, 1.0, 0.0, 1.0])
    y = survival_targets(time, event, time_bins(time.numpy(), event.numpy().astype(bool), 2))
    logits = {"a": torch.randn(4, 2), "b": torch.zeros(4, 2)}
    scores = OGMGE().scores(logits, y, torch.ones(4, 2, dtype=torch.bool), ("a", "b"), "survival")
    expected = torch.exp(-task_loss(logits["b"], y, "survival", reduction="none")).mean()
    assert scores["b"] == pytest.approx(float(expected))


def test_gblend_and_unimodal_losses_are_zero_without_an_event_among_present_samples() -> None:
    y = cox_y([1, 2, 3, 4], [1, 1, 0, 0])
    mask = torch.tensor([[1, 1], [1, 1], [0, 1], [0, 1]], dtype=torch.bool)
    heads = {"a": torch.randn(4, 1, requires_grad=True), "b": torch.randn(4, 1, requires_grad=True)}
    mask_b_censored = torch.tensor([[1, 0], [1, 0], [1, 1], [1, 1]], dtype=torch.bool)  # b: only censored
    out = ModelOutput(torch.randn(4, 1), heads)
    losses = GBlend.head_losses(out, y, mask_b_censored, ("a", "b"), "survival")
    assert float(losses["b"][0]) == 0.0 and losses["b"][1] == 2 and math.isfinite(float(losses["a"][0]))
    loss = unimodal_loss(heads, y, mask_b_censored, ("a", "b"), "survival")
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, task_loss(heads["a"], y, "survival") / 2)
    no_event = unimodal_loss(heads, cox_y([1, 2, 3, 4], [0, 0, 0, 0]), mask, ("a", "b"), "survival")
    assert float(no_event) == 0.0
    no_event.backward()  # still attached: a batch without events trains nothing, but does not fail


def test_pmr_survival_groups_are_the_status_at_the_horizon() -> None:
    pmr = PMR()
    pmr.set_horizon([cox_y([1, 3, 5, 8], [1, 1, 0, 0])], lambda t: t)
    assert pmr.horizon == pytest.approx(2.0)  # mean event time
    group, known = pmr.targets(cox_y([1, 1.5, 2, 3, 4], [1, 0, 0, 1, 0]), "survival")
    assert group.tolist() == [1, 0, 0, 0, 0]
    assert known.tolist() == [True, False, False, True, True]  # censored by the horizon: unknown


def test_pmr_survival_loss_ignores_patients_of_unknown_status() -> None:
    pmr = PMR(alpha=1.0, mu=0.0)
    pmr.horizon = 2.0
    pmr.prototypes = {"a": torch.tensor([[0.0], [1.0]]), "b": torch.tensor([[0.0], [1.0]])}
    z = {"a": torch.tensor([[1.0], [0.0], [5.0]]), "b": torch.tensor([[0.5], [0.5], [-5.0]])}
    y = cox_y([1.0, 3.0, 1.5], [1, 1, 0])  # the third one (censored before 2) is left out
    run = SimpleNamespace(modalities=("a", "b"), task="survival", current_epoch=0)
    terms = pmr.loss_terms(ModelOutput(torch.zeros(3, 1), embeddings=z), {"y": y, "mask": torch.ones(3, 2)}, run)
    # b's two known patients sit halfway between the prototypes: PCE log 2, boosted as the weaker one
    s_a = 1 / (1 + math.exp(-1.0))
    assert float(terms["pmr_pce"]) == pytest.approx((s_a / 0.5 - 1) * math.log(2), rel=1e-5)


# ---------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def cohort() -> tuple[SplitContext, np.ndarray]:
    ds, _ = make_lowquality(3, task="survival", n_samples=300, seed=0)
    idx = np.random.default_rng(0).permutation(len(ds))
    return SplitContext(ds, idx[:180], idx[180:230]), idx[230:]


def recorded(strategy: Strategy) -> list[float]:
    """Every number a strategy recorded per epoch (all must be finite)."""
    if isinstance(strategy, GBlend):
        return [w for epoch in strategy.weights_history for w in epoch.values()]
    if isinstance(strategy, OGMGE):
        return [k for epoch in strategy.coefficients_history for k in epoch.values()]
    if isinstance(strategy, PMR):
        assert strategy.horizon is not None and math.isfinite(strategy.horizon)
        return [float(v) for p in strategy.prototypes.values() for v in p.flatten()]
    return [0.0]


@pytest.mark.parametrize("head", ["cox", "logistic_hazard"])
@pytest.mark.parametrize("name", STRATEGIES.names())
def test_each_strategy_trains_a_survival_model(
    name: str, head: str, cohort: tuple[SplitContext, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Strategy] = []
    original = Strategy.from_config.__func__  # type: ignore[attr-defined]

    def spy(cls: type[Strategy], *args: object, **kwargs: object) -> Strategy:
        seen.append(original(cls, *args, **kwargs))
        return seen[-1]

    monkeypatch.setattr(Strategy, "from_config", classmethod(spy))
    context, test = cohort
    fitted = fit(name, context, {"max_epochs": 5, "survival_head": head})
    risk = fitted.predict_risk(test)
    assert np.isfinite(risk).all()
    y = context.dataset.y[test]
    assert harrell_c(y["time"], y["event"], risk) > 0.55
    (strategy,) = seen
    values = recorded(strategy)
    assert values and all(math.isfinite(v) for v in values)
