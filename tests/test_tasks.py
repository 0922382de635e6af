"""Task kinds: one entry per kind gives the loss, the probabilities and the name lists."""

from __future__ import annotations

import math

import pytest
import torch

from omnifuse.errors import ConfigError
from omnifuse.tasks import (
    CLASSIFICATION_TASKS,
    SINGLE_LABEL_TASKS,
    TASK_NAMES,
    TASKS,
    get_task,
    probabilities,
    task_loss,
    true_class_probability,
)


def test_kinds_and_lists_follow_the_entries() -> None:
    assert TASK_NAMES == ("binary", "multiclass", "multilabel", "survival")
    assert CLASSIFICATION_TASKS == ("binary", "multiclass", "multilabel")
    assert SINGLE_LABEL_TASKS == ("binary", "multiclass")
    assert all(TASKS[name].name == name for name in TASK_NAMES)
    with pytest.raises(ConfigError, match="unknown task 'regression'.*binary, multiclass, multilabel, survival"):
        get_task("regression")


def test_survival_loss_is_cox_for_one_unit_and_needs_bins_otherwise() -> None:
    y = torch.tensor([[1.0, 1.0], [2.0, 0.0], [3.0, 1.0]])
    risk = torch.tensor([[0.2], [0.0], [-0.1]])
    # events at t=1 (risk set: all three) and t=3 (itself): -(0.2 - log(e^.2 + 1 + e^-.1)) - 0, over 2 events
    expected = (math.log(math.exp(0.2) + 1 + math.exp(-0.1)) - 0.2) / 2
    assert task_loss(risk, y, "survival").item() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ConfigError, match="time-bin targets"):
        task_loss(torch.zeros(3, 4), y, "survival")


def test_single_label_losses_are_softmax_cross_entropy() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    y = torch.tensor([0, 1])
    per_sample = task_loss(logits, y, "binary", reduction="none")
    expected = torch.tensor([math.log1p(math.exp(-2.0)), math.log1p(math.exp(-1.0))])
    torch.testing.assert_close(per_sample, expected)
    torch.testing.assert_close(task_loss(logits, y, "multiclass"), expected.mean())
    torch.testing.assert_close(probabilities(logits, "binary").sum(dim=1), torch.ones(2))


def test_multilabel_is_mean_binary_cross_entropy_over_labels() -> None:
    logits = torch.tensor([[0.0, 2.0]])
    y = torch.tensor([[1, 0]])
    expected = (math.log(2.0) + math.log1p(math.exp(2.0))) / 2
    assert float(task_loss(logits, y, "multilabel")) == pytest.approx(expected)
    torch.testing.assert_close(probabilities(logits, "multilabel"), torch.sigmoid(logits))


def test_empty_batch_has_zero_loss_connected_to_the_graph() -> None:
    logits = torch.zeros(0, 3, requires_grad=True)
    loss = task_loss(logits, torch.zeros(0, dtype=torch.long), "multiclass")
    assert float(loss.detach()) == 0.0 and loss.requires_grad


def test_true_class_probability() -> None:
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    torch.testing.assert_close(true_class_probability(logits, torch.tensor([1, 2])), torch.tensor([0.2, 0.8]))


def test_task_name_type_lists_every_task() -> None:
    from typing import get_args

    from omnifuse.tasks import TASK_NAMES, TaskName

    assert set(get_args(TaskName)) == set(TASK_NAMES)


def test_sample_score_is_the_true_class_probability_for_single_label_tasks():
    from omnifuse.tasks import sample_score, true_class_probability

    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 2, 1, 1, 0, 2])
    torch.testing.assert_close(sample_score(logits, y, "multiclass"), true_class_probability(logits, y))
    surv = sample_score(torch.randn(6, 1), torch.tensor([[1.0, 1], [2, 0], [3, 1], [4, 1], [5, 0], [6, 1]]), "survival")
    assert ((surv > 0) & (surv <= 1)).all()


def test_output_units_by_task_and_survival_head():
    from omnifuse.tasks import output_units

    assert output_units("multiclass", ("a", "b", "c")) == 3
    assert output_units("survival", (), "cox", 10) == 1
    assert output_units("survival", (), "logistic_hazard", 10) == 10


def test_survival_outputs_are_log_risks_or_curves():
    from omnifuse.tasks import probabilities

    risk = torch.tensor([[0.5], [-1.0]])
    assert torch.equal(probabilities(risk, "survival"), risk)
    curve = probabilities(torch.zeros(2, 3), "survival")
    torch.testing.assert_close(curve, torch.tensor([[0.5, 0.25, 0.125]] * 2))
