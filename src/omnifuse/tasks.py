"""Task kinds: what a dataset's targets are, how logits are scored in training and read out.

Every kind is one :class:`Task` in :data:`TASKS`; the rest of the package asks this module
(:func:`task_loss`, :func:`probabilities`, :data:`TASK_NAMES`, :data:`CLASSIFICATION_TASKS`,
:data:`SINGLE_LABEL_TASKS`) instead of listing task names itself. A new kind is one more entry.

This module sits below the data layer (which validates a dataset's task against it): it
depends on torch only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import torch
import torch.nn.functional as F

from omnifuse.errors import ConfigError
from omnifuse.survival.losses import cox_sample_loss, logistic_hazard_sample_loss, survival_curve


@dataclass(frozen=True)
class Task:
    """One task kind.

    Attributes:
        name: the kind's name (``MultimodalDataset.task``).
        description: one line for documentation and error messages.
        classes: targets are classes (``class_names``) and predictions class probabilities.
        single_label: one class per sample (softmax over the classes: the probability of
            the true class is defined); multilabel has one 0/1 indicator per class instead.
        sample_loss: ``(logits, y) -> (B,)`` training loss of every sample; None while no
            neural model trains on the kind.
        probs: ``logits -> probabilities`` of the same shape; None where there are none.
            For survival the "probabilities" are the head's readable outputs: the log-risk
            of a one-unit Cox head, or the survival curve of a logistic-hazard head
            (:mod:`omnifuse.survival.readout` turns either into risks and curves).
    """

    name: str
    description: str
    classes: bool
    single_label: bool
    sample_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    probs: Callable[[torch.Tensor], torch.Tensor] | None = None

    def loss(self, logits: torch.Tensor, y: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """The loss of a batch: per sample (``reduction="none"``) or its mean (0 for no sample)."""
        if self.sample_loss is None:
            raise ConfigError(f"{self.name} tasks have no training loss for neural models yet")
        loss = self.sample_loss(logits, y)
        if reduction == "none":
            return loss
        return loss.mean() if loss.numel() else logits.sum() * 0.0

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Class probabilities from logits."""
        if self.probs is None:
            raise ConfigError(f"{self.name} tasks have no class probabilities")
        return self.probs(logits)


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, y.long(), reduction="none")


def _label_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, y.float(), reduction="none").mean(dim=1)


def _softmax(logits: torch.Tensor) -> torch.Tensor:
    return torch.softmax(logits, dim=-1)


def _survival_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """One log-risk per sample (Cox head; ``y`` is time, event) or one hazard logit per time
    interval (logistic-hazard head; ``y`` is :func:`~omnifuse.survival.losses.survival_targets`)."""
    if logits.shape[-1] == 1:
        return cox_sample_loss(logits[:, 0], y[:, 0], y[:, 1])
    return logistic_hazard_sample_loss(logits, y)


def _survival_outputs(logits: torch.Tensor) -> torch.Tensor:
    """The log-risk itself (Cox head) or the survival probability at each interval's end."""
    return logits if logits.shape[-1] == 1 else survival_curve(logits)


TASKS: Mapping[str, Task] = MappingProxyType(
    {
        task.name: task
        for task in (
            Task(
                "binary",
                "two classes (2 logits, softmax; class 1 is the positive one)",
                True,
                True,
                _cross_entropy,
                _softmax,
            ),
            Task("multiclass", "one of C classes (softmax cross-entropy)", True, True, _cross_entropy, _softmax),
            Task(
                "multilabel",
                "any subset of C labels (independent sigmoids, binary cross-entropy)",
                True,
                False,
                _label_bce,
                torch.sigmoid,
            ),
            Task(
                "survival",
                "a censored time to event (Cox log-risk head, or logistic hazards over time bins)",
                False,
                False,
                _survival_loss,
                _survival_outputs,
            ),
        )
    }
)
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
#: The kinds whose targets are classes (binary, multiclass, multilabel).
#: The task names as a type (documents and APIs validate against it; a test keeps it equal to
#: :data:`TASKS`).
TaskName = Literal["binary", "multiclass", "multilabel", "survival"]

CLASSIFICATION_TASKS: tuple[str, ...] = tuple(name for name, task in TASKS.items() if task.classes)
#: The kinds with one class per sample (binary, multiclass).
SINGLE_LABEL_TASKS: tuple[str, ...] = tuple(name for name, task in TASKS.items() if task.single_label)


def get_task(name: str) -> Task:
    """The :class:`Task` called ``name``; an unknown name lists the valid ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ConfigError(f"unknown task '{name}' (valid: {', '.join(TASK_NAMES)})") from None


def task_loss(logits: torch.Tensor, y: torch.Tensor, task: str, reduction: str = "mean") -> torch.Tensor:
    """The training loss of ``task``: cross-entropy (binary, multiclass: softmax over classes),
    binary cross-entropy averaged over labels (multilabel), or the Cox partial likelihood /
    logistic-hazard likelihood (survival)."""
    return get_task(task).loss(logits, y, reduction)


def probabilities(logits: torch.Tensor, task: str) -> torch.Tensor:
    """Class probabilities (independent per label for multilabel tasks)."""
    return get_task(task).probabilities(logits)


def sample_score(logits: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` how well each sample's prediction fits its target, in (0, 1]: ``exp(-loss)``.

    For single-label tasks this is the probability of the true class; strategies that weigh
    modalities by their confidence use it so that they work for every task kind.
    """
    return torch.exp(-get_task(task).loss(logits, y, reduction="none"))


def output_units(task: str, class_names: tuple[str, ...] | list[str], survival_head: str = "cox", bins: int = 1) -> int:
    """Width of a model's output layer: one unit per class, one log-risk (Cox survival head)
    or one hazard logit per time interval (logistic-hazard survival head, ``bins`` intervals)."""
    if task != "survival":
        return len(class_names)
    return 1 if survival_head == "cox" else int(bins)


def true_class_probability(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``(B,)`` softmax probability of each sample's true class (single-label tasks)."""
    return torch.softmax(logits, dim=-1).gather(1, y.long().view(-1, 1)).squeeze(1)
