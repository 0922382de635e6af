"""Survival losses against independent references computed here with plain loops."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from omnifuse.errors import ConfigError, DataError
from omnifuse.survival import bin_index, cox_loss, logistic_hazard_loss, survival_at, survival_curve, time_bins
from omnifuse.survival.losses import cox_sample_loss, logistic_hazard_sample_loss, survival_targets

# fixed data with tied event times (t = 2: two events and a censoring; t = 5: two events)
TIME = np.array([2.0, 5.0, 2.0, 7.0, 1.0, 5.0, 2.0, 9.0, 3.0, 5.0])
EVENT = np.array([1, 1, 1, 0, 0, 1, 0, 1, 1, 0], dtype=bool)
RISK = np.array([0.3, -1.2, 0.8, 0.1, -0.4, 0.5, 1.1, -2.0, 0.0, 0.7])


def breslow_nll(risk: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Breslow partial likelihood by its definition: every event at time t is compared with
    everyone still at risk at t (time >= t), tied events included in each other's risk set."""
    total = 0.0
    for i in range(len(time)):
        if event[i]:
            at_risk = [j for j in range(len(time)) if time[j] >= time[i]]
            total += risk[i] - math.log(sum(math.exp(risk[j]) for j in at_risk))
    return -total / int(event.sum())


def efron_nll(risk: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    total = 0.0
    for t in sorted(set(time[event].tolist())):
        dying = [i for i in range(len(time)) if time[i] == t and event[i]]
        at_risk = sum(math.exp(risk[j]) for j in range(len(time)) if time[j] >= t)
        tied = sum(math.exp(risk[i]) for i in dying)
        total += sum(risk[i] for i in dying)
        total -= sum(math.log(at_risk - r / len(dying) * tied) for r in range(len(dying)))
    return -total / int(event.sum())


def tensors(risk=RISK, time=TIME, event=EVENT, dtype=torch.float32):
    return (torch.tensor(risk, dtype=dtype, requires_grad=True), torch.tensor(time, dtype=dtype), torch.tensor(event))


def test_cox_loss_matches_the_breslow_partial_likelihood_with_ties():
    risk, time, event = tensors(dtype=torch.float64)
    loss = cox_loss(risk, time, event)
    assert loss.item() == pytest.approx(breslow_nll(RISK, TIME, EVENT), rel=1e-6)  # torchsurv computes in float32
    assert loss.dtype == torch.float64
    loss.backward()
    assert torch.isfinite(risk.grad).all() and risk.grad.abs().sum() > 0
    assert cox_loss(*tensors(dtype=torch.float64), ties="efron").item() == pytest.approx(
        efron_nll(RISK, TIME, EVENT), rel=1e-6
    )


def test_cox_loss_without_ties_float32_and_column_input():
    time = np.arange(1.0, 11.0)
    risk, t, event = tensors(time=time)
    loss = cox_loss(risk.reshape(-1, 1), t, event)
    assert loss.dtype == torch.float32
    assert loss.item() == pytest.approx(breslow_nll(RISK, time, EVENT), rel=1e-5)


def test_cox_loss_is_shift_invariant_and_stable_for_huge_logits():
    base = cox_loss(*tensors(dtype=torch.float64)).item()
    for shift in (-300.0, 150.0, 1000.0):
        risk, time, event = tensors(risk=RISK + shift)
        loss = cox_loss(risk, time, event)
        assert torch.isfinite(loss) and loss.item() == pytest.approx(base, rel=1e-5)
        loss.backward()
        assert torch.isfinite(risk.grad).all()


def test_cox_loss_with_no_event_is_zero_and_keeps_the_graph():
    risk, time, _ = tensors()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torchsurv "no events" warning either
        loss = cox_loss(risk, time, torch.zeros(len(TIME), dtype=torch.bool))
    assert loss.item() == 0.0 and not torch.isnan(loss)
    loss.backward()
    assert risk.grad is not None and (risk.grad == 0).all()
    single = torch.tensor([0.4], requires_grad=True)
    assert cox_loss(single, torch.tensor([3.0]), torch.tensor([True])).item() == 0.0


def test_cox_loss_one_event_among_censored():
    event = np.zeros(len(TIME), dtype=bool)
    event[8] = True  # t = 3
    loss = cox_loss(*tensors(event=event, dtype=torch.float64))
    assert loss.item() == pytest.approx(breslow_nll(RISK, TIME, event), rel=1e-6)


def test_cox_loss_refuses_bad_input():
    risk, time, event = tensors()
    with pytest.raises(ConfigError, match="unknown ties method 'exact'"):
        cox_loss(risk, time, event, ties="exact")
    with pytest.raises(ValueError, match="one value per sample"):
        cox_loss(risk[:3], time, event)


# ---------------------------------------------------------------------- discrete time
def test_time_bins_are_event_time_quantiles():
    edges = time_bins(TIME, EVENT, 4)
    observed = np.sort(TIME[EVENT])  # 2 2 3 5 5 9
    expected = np.unique(np.concatenate([[0.0], np.quantile(observed, [0.25, 0.5, 0.75, 1.0])]))
    np.testing.assert_allclose(edges, expected)
    assert edges[0] == 0.0 and edges[-1] == 9.0 and np.all(np.diff(edges) > 0)
    assert len(time_bins(np.array([1.0, 1.0, 1.0]), np.array([1, 1, 1]), 5)) == 2  # ties merge
    with pytest.raises(DataError, match="at least one observed event"):
        time_bins(TIME, np.zeros(len(TIME), bool), 4)
    with pytest.raises(ConfigError, match="n_bins must be >= 1"):
        time_bins(TIME, EVENT, 0)


def test_bin_index_numpy_and_torch_agree():
    edges = np.array([0.0, 2.0, 5.0, 9.0])
    times = np.array([0.0, 1.0, 2.0, 2.5, 5.0, 8.9, 9.0, 12.0])
    expected = [0, 0, 0, 1, 1, 2, 2, 3]  # right-closed intervals; 3 = after the last edge
    assert bin_index(times, edges).tolist() == expected
    assert bin_index(torch.tensor(times), edges).tolist() == expected


def reference_logistic_hazard(logits, time, event, edges) -> float:
    """The likelihood written out patient by patient and interval by interval."""
    total = 0.0
    n_bins = len(edges) - 1
    for i in range(len(time)):
        for j in range(n_bins):
            lo, hi = edges[j], edges[j + 1]
            h = 1.0 / (1.0 + math.exp(-logits[i, j]))
            if time[i] > hi:  # survived interval j completely
                total -= math.log(1.0 - h)
            elif time[i] > lo or j == 0:  # the patient's interval
                if event[i]:
                    total -= math.log(h)
                elif time[i] >= (lo + hi) / 2:
                    total -= math.log(1.0 - h)
                break
    return total / len(time)


def test_logistic_hazard_loss_matches_the_written_out_likelihood():
    edges = np.array([0.0, 2.0, 5.0, 9.0])
    time = np.array([1.0, 2.0, 4.0, 3.0, 9.0, 11.0, 0.0, 7.5, 12.0])
    event = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=bool)  # 11 and 12 lie after the grid
    logits = np.random.default_rng(0).normal(size=(len(time), 3))
    got = logistic_hazard_loss(torch.tensor(logits, requires_grad=True), torch.tensor(time), torch.tensor(event), edges)
    assert got.item() == pytest.approx(reference_logistic_hazard(logits, time, event, edges), rel=1e-10)
    got.backward()
    with pytest.raises(ValueError, match="for 3 intervals"):
        logistic_hazard_loss(torch.zeros(2, 4), torch.ones(2), torch.ones(2), edges)


def test_survival_curve_and_reading_it_at_times():
    logits = torch.tensor([[0.0, 0.0, 0.0], [-3.0, 2.0, 10.0]])
    curve = survival_curve(logits)
    np.testing.assert_allclose(curve[0].numpy(), [0.5, 0.25, 0.125], rtol=1e-6)
    assert torch.all(curve[:, 1:] <= curve[:, :-1]) and torch.all((curve > 0) & (curve <= 1))
    np.testing.assert_allclose(survival_curve(logits.numpy()), curve.numpy())
    edges = np.array([0.0, 2.0, 5.0, 9.0])
    at = survival_at(curve.numpy(), edges, np.array([0.0, 1.9, 2.0, 6.0, 9.0, 20.0]))
    np.testing.assert_allclose(at[0], [1.0, 1.0, 0.5, 0.25, 0.125, 0.125], rtol=1e-6)


def test_cox_sample_terms_average_to_the_breslow_loss_and_sum_by_event():
    risk, time, event = tensors(dtype=torch.float64)
    terms = cox_sample_loss(risk, time, event)
    assert terms.shape == (len(TIME),)
    assert (terms[~torch.tensor(EVENT)] == 0).all()  # censored samples contribute nothing themselves
    assert terms.mean().item() == pytest.approx(breslow_nll(RISK, TIME, EVENT), rel=1e-10)
    assert terms.mean().item() == pytest.approx(cox_loss(risk, time, event).item(), rel=1e-6)  # torchsurv reference
    terms.mean().backward()
    assert torch.isfinite(risk.grad).all()
    none = cox_sample_loss(risk, time, torch.zeros(len(TIME), dtype=torch.bool))
    assert (none == 0).all() and none.requires_grad


def test_logistic_hazard_sample_loss_from_targets_matches_the_likelihood():
    edges = np.array([0.0, 2.0, 5.0, 9.0])
    time = np.array([1.0, 2.0, 4.0, 3.0, 9.0, 11.0, 0.0, 7.5, 12.0])
    event = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
    logits = torch.tensor(np.random.default_rng(0).normal(size=(len(time), 3)))
    targets = survival_targets(torch.tensor(time), torch.tensor(event), edges)
    assert targets.shape == (len(time), 4)
    per_patient = logistic_hazard_sample_loss(logits, targets)
    assert per_patient.mean().item() == pytest.approx(
        reference_logistic_hazard(logits.numpy(), time, event, edges), rel=1e-6
    )
    with pytest.raises(ConfigError, match="time-bin targets"):
        logistic_hazard_sample_loss(logits, targets[:, :2])
