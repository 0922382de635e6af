"""OmniFuse on survival tasks: DWFuse and TLA with the task's loss and per-sample score."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from omnifuse.data.simulate import make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.imputation.patterns import all_combinations
from omnifuse.models.omnifuse import OmniFuseModel
from omnifuse.models.omnifuse_objective import dwfuse_encoder_loss, mine_lazy_combination
from omnifuse.survival import harrell_c
from omnifuse.tasks import task_loss, true_class_probability
from omnifuse.training.fit import SplitContext, fit
from tests.models.test_omnifuse import Scripted, small


def cox_y(time: list[float], event: list[int]) -> torch.Tensor:
    return torch.tensor([time, event], dtype=torch.float32).T.contiguous()


def test_dwfuse_confidence_is_the_true_class_probability_for_classification() -> None:
    """The classification numbers are those of the true-class formula (eq. 12 unchanged)."""
    torch.manual_seed(0)
    logits = [torch.randn(6, 3), torch.randn(6, 3)]
    y = torch.randint(0, 3, (6,))
    loss, w = dwfuse_encoder_loss(logits, y, 0.5, task="multiclass")
    p = torch.stack([true_class_probability(lg, y) for lg in logits], dim=1)
    expected_w = torch.stack([(1 - p[:, 1]) ** 0.5, (1 - p[:, 0]) ** 0.5], dim=1)
    torch.testing.assert_close(w, expected_w)
    ce = torch.stack([task_loss(lg, y, "multiclass", reduction="none") for lg in logits], dim=1)
    torch.testing.assert_close(loss, (expected_w * ce).sum(dim=1).mean())


def test_dwfuse_on_a_cox_head_weighs_each_event_by_the_other_modality_s_ranking() -> None:
    y = cox_y([1, 2, 3, 4], [1, 1, 0, 0])
    a, b = torch.tensor([[2.0], [1.0], [0.0], [-1.0]]), torch.zeros(4, 1)
    loss, w = dwfuse_encoder_loss([a, b], y, 1.0, task="survival")
    # b's weight on an event is 1 - a's score there; censored patients (score 1 -> p 0) weigh 1
    p_a = torch.exp(-task_loss(a, y, "survival", reduction="none"))
    assert w[2:].tolist() == [[1.0, 1.0], [1.0, 1.0]]
    torch.testing.assert_close(w[:2, 1], 1 - p_a[:2])
    ce = torch.stack([task_loss(lg, y, "survival", reduction="none") for lg in (a, b)], dim=1)
    torch.testing.assert_close(loss, (w * ce).sum(dim=1).mean())


def test_dwfuse_without_imputation_ranks_a_cox_head_among_the_samples_that_have_it() -> None:
    y = cox_y([1, 2, 3, 4], [1, 1, 0, 1])
    a, b = torch.randn(4, 1, requires_grad=True), torch.randn(4, 1)
    present = torch.tensor([[1, 1], [0, 1], [1, 1], [1, 1]], dtype=torch.bool)
    loss, w = dwfuse_encoder_loss([a, b], y, 0.5, present=present, task="survival")
    assert w[1, 0] == 0 and torch.isfinite(loss)
    rows = present[:, 0]
    own = task_loss(a[rows], y[rows], "survival", reduction="none")  # risk sets without patient 1
    b_terms = task_loss(b, y, "survival", reduction="none")
    expected = (w[rows, 0] * own).sum() + (w[:, 1] * b_terms).sum()
    torch.testing.assert_close(loss, expected / 4)
    loss.backward()
    assert a.grad is not None and a.grad[1, 0] == 0  # the absent row is not trained


class CoxScripted(Scripted):
    """Scripted's fusion with a one-unit head: log-risk = w . v (m0 ranks the events, m1 and m2 reverse it)."""

    task = "survival"

    def fuse(self, v, mask, absent):  # type: ignore[no-untyped-def]
        out = super().fuse(v, mask, absent)
        out.joint_logits = out.joint_logits[:, 1:]
        return out


def test_tla_mining_on_a_cox_head_picks_the_constructed_lazy_combination() -> None:
    combos = all_combinations(3)
    time = [float(t) for t in range(1, 9)]
    y = cox_y(time, [1] * 8)
    sign = torch.linspace(1, -1, 8).view(-1, 1)  # the earliest events get the highest risk under m0
    inputs = {m: sign.clone() for m in Scripted.modalities}
    mask = torch.ones(8, 3, dtype=torch.bool)
    mask[:4, 2] = False  # m2 on half of the patients: its combinations rank among fewer of them
    totals, counts = mine_lazy_combination(CoxScripted(), [{"inputs": inputs, "mask": mask, "y": y}], combos)
    scores = totals / counts
    assert counts.tolist() == [8.0 if not c[2] else 4.0 for c in combos.tolist()]
    assert combos[int(scores.argmax())].tolist() in ([False, True, True], [False, True, False])
    assert float(scores[combos.tolist().index([True, False, False])]) < 0  # m0 alone beats a constant


def test_a_constant_cox_prediction_scores_zero_under_every_combination() -> None:
    """Mining compares combinations that different numbers of patients have: without the constant
    prediction's loss taken off, the rarer ones would look better for ranking fewer patients."""

    class Flat(CoxScripted):
        def fuse(self, v, mask, absent):  # type: ignore[no-untyped-def]
            out = super().fuse(v, mask, absent)
            out.joint_logits = out.joint_logits * 0.0
            return out

    y = cox_y([1, 2, 3, 4, 5, 6], [1, 0, 1, 1, 0, 1])
    mask = torch.tensor([[1, 1, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=torch.bool)
    inputs = {m: torch.ones(6, 1) for m in Scripted.modalities}
    totals, counts = mine_lazy_combination(Flat(), [{"inputs": inputs, "mask": mask, "y": y}], all_combinations(3))
    assert torch.allclose(totals, torch.zeros_like(totals), atol=1e-6)


@pytest.fixture(scope="module")
def cohort() -> tuple[SplitContext, np.ndarray]:
    ds, _ = make_lowquality(3, task="survival", n_samples=300, seed=0)
    idx = np.random.default_rng(0).permutation(len(ds))
    return SplitContext(ds, idx[:180], idx[180:230]), idx[230:]


@pytest.mark.parametrize("head", ["cox", "logistic_hazard"])
def test_omnifuse_trains_a_survival_model(head: str, cohort: tuple[SplitContext, np.ndarray]) -> None:
    context, test = cohort
    fitted = fit("omnifuse", context, {"max_epochs": 5, "survival_head": head})
    risk = fitted.predict_risk(test)
    y = context.dataset.y[test]
    assert np.isfinite(risk).all() and harrell_c(y["time"], y["event"], risk) > 0.55
    lazy = fitted.history["omnifuse"]["lazy_history"]
    assert lazy  # mined after every epoch
    assert all(math.isfinite(s) for epoch in lazy for s in epoch["scores"].values())
    details = fitted.predict_details(test)
    # no label-free confidence of a risk head: present modalities weigh 1, absent ones 0
    np.testing.assert_array_equal(details.weights, context.dataset.mask[test].astype(details.weights.dtype))


@pytest.mark.parametrize("option", [{"predict": "blend"}, {"tla_distance": "brier"}, {"tla_distance": "error"}])
def test_class_only_options_are_refused_for_survival(option: dict[str, str], cohort) -> None:  # type: ignore[no-untyped-def]
    context, _ = cohort
    with pytest.raises(ConfigError, match="survival"):
        OmniFuseModel.from_dataset(context.dataset, small(**option))
