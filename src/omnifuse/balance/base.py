"""What every balancing strategy shares: hooks the training module calls, and class metadata.

The training module (:class:`omnifuse.training.module.FusionModule`) calls a strategy's hooks
at fixed points of a run, passing what they act on: the batch, the model's output and the run
itself (a :class:`TrainingRun`: the model, its modalities and task, the epoch, and the few
services a strategy needs of the run, such as summing over the processes of a distributed run
or the training batches on the model's device). Strategies never import the training layer
and never read state the module keeps for them.

Per training batch, in this order:

* ``transform_batch(batch, run)`` may change the batch before the forward pass;
* ``task_weight(run)`` weights the task loss (1 by default); ``loss_terms(output, batch, run)``
  returns extra, already weighted loss terms the module adds to it;
* ``after_backward(output, batch, run)`` sees the gradients of that loss (and may change them);
* ``after_batch(output, batch, run)`` follows the optimiser step.

Per run and epoch: ``train_start``, ``training_epoch_start``, ``training_epoch_done``,
``validation_epoch_start``, ``validation_batch(output, batch, run)`` and
``validation_epoch_done`` (validation hooks are not called during Lightning's sanity check).
``state_dict`` / ``load_state_dict`` are saved in and restored from the run's checkpoints.

Strategies only rely on the model contract (:class:`StrategyOutput`, the parts of
``omnifuse.models.output.ModelOutput`` they read), the batch format
(``{"inputs", "mask", "y", "index"}``) and, where they need it, a ``model.encoders`` module
dict. Every hyperparameter is a keyword argument of ``__init__``; ``config.strategy`` holds
them (see :meth:`Strategy.from_config`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.tasks import CLASSIFICATION_TASKS, SINGLE_LABEL_TASKS, sample_score, task_loss, true_class_probability
from omnifuse.utils.options import check_options, constructor_options
from omnifuse.utils.registry import Registry

#: Keys of ``config.strategy`` read by the registry (not by the strategy itself).
RESERVED_KEYS = ("base",)

Batch = dict[str, Any]


class StrategyOutput(Protocol):
    """What strategies read of a model's output (the model contract's ``ModelOutput``)."""

    logits: torch.Tensor
    modality_logits: dict[str, torch.Tensor]
    embeddings: dict[str, torch.Tensor]


class TrainingRun(Protocol):
    """What a strategy's hooks may use of the run calling them.

    The training module is one; tests pass small stand-ins with the attributes a hook reads.
    """

    model: nn.Module
    modalities: tuple[str, ...]
    task: str
    n_classes: int

    @property
    def current_epoch(self) -> int: ...

    @property
    def global_step(self) -> int: ...

    @property
    def seed(self) -> int:
        """The run's random seed."""

    @property
    def world_size(self) -> int:
        """Number of processes of the run (1 unless distributed)."""

    @property
    def device(self) -> torch.device: ...

    def reduce_sum(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the processes of a distributed run (unchanged in one process)."""

    def training_batches(self) -> Iterable[Batch]:
        """One pass over the training batches, each on the model's device."""

    def log(self, name: str, value: Any, *args: Any, **kwargs: Any) -> None:
        """Log a value (Lightning's ``LightningModule.log``)."""


class StrategyConfig(Protocol):
    """A configuration with a ``strategy`` section (the strategy's hyperparameters)."""

    @property
    def strategy(self) -> Mapping[str, Any]: ...


class Strategy:
    """Base class of balancing strategies: no-op hooks plus class metadata.

    Subclasses set ``name`` (the registered model name), ``paper`` (citation), ``tasks`` (the
    task types they support) and a docstring whose first line describes them, and register
    with ``@STRATEGIES.register``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "strategy"
    paper: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = CLASSIFICATION_TASKS
    #: Configuration overrides the registered name implies. Strategies reading unimodal heads
    #: (``ModelOutput.modality_logits``) turn them on; the others leave them off, since heads
    #: that no loss uses would be dead weight (and an error under DDP, which needs every
    #: parameter to receive a gradient).
    defaults: ClassVar[dict[str, Any]] = {}
    #: Tunable hyperparameters, keys relative to ``strategy.`` (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ per training batch
    def transform_batch(self, batch: Batch, run: TrainingRun) -> Batch:
        """Change a training batch before the forward pass (default: unchanged)."""
        return batch

    def task_weight(self, run: TrainingRun) -> float:
        """Factor of the task loss in the training objective (default 1)."""
        return 1.0

    def loss_terms(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> dict[str, torch.Tensor]:
        """Extra, already weighted loss terms of a training batch (default: none)."""
        return {}

    def after_backward(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        """Called when the gradients of a training batch's loss are set, before the optimiser step."""

    def after_batch(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        """Called after the optimiser step of a training batch (``batch`` as transformed)."""

    # ------------------------------------------------------------------ per run and epoch
    def train_start(self, run: TrainingRun) -> None:
        """Called once before the first training batch (also when a run resumes)."""

    def training_epoch_start(self, run: TrainingRun) -> None:
        """Called at the start of every training epoch."""

    def training_epoch_done(self, run: TrainingRun) -> None:
        """Called once per epoch, right after its last training batch: at the start of that
        epoch's validation, or at the epoch end when it has none. Per-epoch state updated here
        is in the checkpoint written at the end of validation, so a resumed run continues from it."""

    def validation_epoch_start(self, run: TrainingRun) -> None:
        """Called before the first batch of every validation pass."""

    def validation_batch(self, output: StrategyOutput, batch: Batch, run: TrainingRun) -> None:
        """Called with the model's output (eval mode, no gradients) for every validation batch."""

    def validation_epoch_done(self, run: TrainingRun) -> None:
        """Called after the last batch of every validation pass."""

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs of the strategy's learnt state (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    # ------------------------------------------------------------------ construction
    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The hyperparameters ``config.strategy`` may set (the keyword arguments of ``__init__``)."""
        return constructor_options(cls)

    @classmethod
    def from_config(
        cls, config: StrategyConfig | Mapping[str, Any] | None = None, task: str | None = None
    ) -> "Strategy":
        """Build from the ``strategy`` section of a strategy model's config (or a plain dict
        of hyperparameters).

        Keys in :data:`RESERVED_KEYS` are ignored; any other unknown key raises
        :class:`~omnifuse.errors.ConfigError` listing the valid ones. With ``task`` the task
        type is checked too.
        """
        if config is None:
            raw: dict[str, Any] = {}
        elif isinstance(config, Mapping):
            raw = dict(config)
        else:
            raw = dict(config.strategy)
        kwargs = {k: v for k, v in raw.items() if k not in RESERVED_KEYS}
        kwargs = check_options(cls, kwargs, f"strategy '{cls.name}'", also_valid=RESERVED_KEYS)
        if task is not None:
            cls.check_task(task)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"strategy '{cls.name}': {exc}") from exc

    @classmethod
    def check_task(cls, task: str) -> None:
        """Raise :class:`ConfigError` when the strategy does not support ``task``."""
        if task not in cls.tasks:
            raise ConfigError(f"strategy '{cls.name}' does not support {task} tasks (supports: {', '.join(cls.tasks)})")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.param_names() if hasattr(self, k))
        return f"{type(self).__name__}({args})"


#: Every balancing strategy by name; each class registers itself with ``@STRATEGIES.register``.
STRATEGIES: Registry[type[Strategy]] = Registry("strategy", packages="omnifuse.balance")


def all_strategies() -> list[type[Strategy]]:
    """Every registered strategy class, by name."""
    return STRATEGIES.all()


# ---------------------------------------------------------------------- shared helpers
def check_unit(value: float, what: str, low_open: bool = False, high_open: bool = True) -> float:
    """``value`` as a float in [0, 1) (or the interval given by the flags)."""
    value = float(value)
    ok_low = value > 0 if low_open else value >= 0
    ok_high = value < 1 if high_open else value <= 1
    if not (ok_low and ok_high):
        lo, hi = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{what} must be in {lo}0, 1{hi}, got {value}")
    return value


def check_nonneg(value: float, what: str) -> float:
    value = float(value)
    if not value >= 0 or value != value or value == float("inf"):
        raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    return value


def modality_logits_of(output: StrategyOutput, modalities: tuple[str, ...], strategy: str) -> dict[str, torch.Tensor]:
    """The unimodal logits of every modality, or a ConfigError saying the model lacks them."""
    return _per_modality(
        output.modality_logits,
        "heads (ModelOutput.modality_logits)",
        modalities,
        strategy,
        "use a model with unimodal heads (config: unimodal_heads: true)",
    )


def embeddings_of(output: StrategyOutput, modalities: tuple[str, ...], strategy: str) -> dict[str, torch.Tensor]:
    """The embedding of every modality, or a ConfigError saying the model lacks them."""
    return _per_modality(
        output.embeddings,
        "embeddings (ModelOutput.embeddings)",
        modalities,
        strategy,
        "this model does not return them",
    )


def _per_modality(
    values: dict[str, torch.Tensor], what: str, modalities: tuple[str, ...], strategy: str, hint: str
) -> dict[str, torch.Tensor]:
    missing = [m for m in modalities if m not in values]
    if missing:
        raise ConfigError(f"strategy '{strategy}' needs per-modality {what} for {', '.join(missing)}; {hint}")
    return {m: values[m] for m in modalities}


def ratio_to_others(scores: Mapping[str, float | None]) -> dict[str, float | None]:
    """``rho_m = s_m / mean_{n != m} s_n`` over modalities that have a score (None otherwise).

    With fewer than two scored modalities every ratio is None (nothing to compare).
    """
    valid = {m: float(s) for m, s in scores.items() if s is not None}
    out: dict[str, float | None] = {m: None for m in scores}
    if len(valid) < 2:
        return out
    total = sum(valid.values())
    for m, s in valid.items():
        others = (total - s) / (len(valid) - 1)
        out[m] = s / others if others > 0 else (float("inf") if s > 0 else 1.0)
    return out


# ---------------------------------------------------------------------- per-modality confidence
def is_cox(logits: torch.Tensor, task: str) -> bool:
    """True for a one-unit survival head (Cox log-risk): its per-sample loss terms depend on
    the batch (each event is ranked against the samples still at risk at its time)."""
    return task == "survival" and logits.shape[-1] == 1


def sample_confidence(logits: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` how well each sample's prediction fits its target, in (0, 1].

    The probability of the true class for single-label tasks (computed as before, so
    classification numbers do not change), :func:`omnifuse.tasks.sample_score` (``exp(-loss)``)
    otherwise: for a logistic-hazard head the likelihood of the patient's observed outcome,
    for a Cox head ``P(i fails | one of its risk set fails)`` (a softmax over the risk set,
    the partial likelihood's analogue of the true-class probability) raised to the loss's
    ``B / n_events`` scale; 1 for a censored patient, whose term is 0 whatever the model says.
    """
    if task in SINGLE_LABEL_TASKS:
        return true_class_probability(logits, y)
    return sample_score(logits, y, task)


def scored_rows(logits: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` bool: the samples whose :func:`sample_confidence` depends on the model (all of
    them, except the censored patients of a Cox head)."""
    if is_cox(logits, task):
        return y[:, 1] > 0
    return torch.ones(logits.shape[0], dtype=torch.bool, device=logits.device)


def relative_confidence(logits: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """``(B,)`` confidence of a batch's predictions comparable between modalities present on
    different numbers of samples.

    :func:`sample_confidence`, except for a Cox head: there the risk sets shrink with the
    samples a modality has (a modality present for half of a batch ranks each event against
    half as many patients, which alone doubles its softmax probability), so the score is taken
    relative to a constant prediction on the same risk sets, ``exp(-(loss - loss_constant))``
    (1 for a head that knows nothing, > 1 when it ranks the events above their risk sets).
    """
    if not is_cox(logits, task):
        return sample_confidence(logits, y, task)
    loss = task_loss(logits, y, task, reduction="none")
    null = task_loss(torch.zeros_like(logits), y, task, reduction="none")
    return torch.exp(null - loss)
