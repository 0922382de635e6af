"""What every balancing strategy shares: a loss hook that is also a Lightning callback.

A strategy plugs into :class:`omnifuse.training.module.FusionModule` in two ways at once:

* as a *loss hook*: ``transform_batch(batch, module)`` may change a training batch before the
  forward pass, ``loss_terms(output, batch, module)`` returns extra (already weighted) loss
  terms that the module adds to the task loss;
* as a *Lightning callback*: the ``fit`` unit hands hooks that are callbacks to the Trainer,
  so a strategy can also act on gradients (``on_after_backward``), validation batches or epoch
  ends.

Strategies only rely on the model contract (:class:`omnifuse.models.output.ModelOutput`), the
batch format (``{"inputs", "mask", "y", "index"}``) and, where they need it, a ``model.encoders``
module dict. Every hyperparameter is a keyword argument of ``__init__``; ``config.strategy``
holds them (see :meth:`Strategy.from_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import lightning as L
import torch

from omnifuse.utils.options import check_options, constructor_options
from omnifuse.utils.registry import Registry
from omnifuse.errors import ConfigError

if TYPE_CHECKING:
    from omnifuse.models.config import StrategyConfig
    from omnifuse.models.output import ModelOutput
    from omnifuse.training.module import FusionModule

ALL_TASKS = ("binary", "multiclass", "multilabel")
CLASSIFICATION_TASKS = ("binary", "multiclass")
#: Keys of ``config.strategy`` read by the registry (not by the strategy itself).
RESERVED_KEYS = ("base",)


class Strategy(L.Callback):
    """Base class of balancing strategies: no-op hooks plus class metadata.

    Subclasses set ``name`` (the registered model name), ``paper`` (citation), ``tasks`` (the
    task types they support) and a docstring whose first line describes them, and register
    with ``@STRATEGIES.register``.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "strategy"
    paper: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = ALL_TASKS
    #: Configuration overrides the registered name implies. Strategies reading unimodal heads
    #: (``ModelOutput.modality_logits``) turn them on; the others leave them off, since heads
    #: that no loss uses would be dead weight (and an error under DDP, which needs every
    #: parameter to receive a gradient).
    defaults: ClassVar[dict[str, Any]] = {}
    #: Tunable hyperparameters, keys relative to ``strategy.`` (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    # ------------------------------------------------------------------ loss-hook protocol
    def transform_batch(self, batch: dict[str, Any], module: "FusionModule") -> dict[str, Any]:
        """Change a training batch before the forward pass (default: unchanged)."""
        return batch

    def loss_terms(self, output: ModelOutput, batch: dict[str, Any], module: "FusionModule") -> dict[str, torch.Tensor]:
        """Extra, already weighted loss terms of a training batch (default: none)."""
        return {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The hyperparameters ``config.strategy`` may set (the keyword arguments of ``__init__``)."""
        return constructor_options(cls)

    @classmethod
    def from_config(cls, config: "StrategyConfig | Mapping[str, Any] | None" = None,
                    task: str | None = None) -> "Strategy":
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

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        task = getattr(pl_module, "task", None)
        if task is not None:
            self.check_task(task)

    # ------------------------------------------------------------------ epoch bookkeeping
    def training_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Called at the start of every training epoch (override instead of ``on_train_epoch_start``)."""

    def training_epoch_done(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Called once per epoch, right after its last training batch: at the start of that
        epoch's validation, or at the epoch end when it has none. Per-epoch state updated here
        is in the checkpoint written at the end of validation, so a resumed run continues from it."""

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_open = True
        self.training_epoch_start(trainer, pl_module)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._close_epoch(trainer, pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._close_epoch(trainer, pl_module)

    def _close_epoch(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if getattr(self, "_epoch_open", False):
            self._epoch_open = False
            self.training_epoch_done(trainer, pl_module)

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


def modality_logits_of(output: ModelOutput, modalities: tuple[str, ...], strategy: str) -> dict[str, torch.Tensor]:
    """The unimodal logits of every modality, or a ConfigError saying the model lacks them."""
    return _per_modality(output.modality_logits, "heads (ModelOutput.modality_logits)", modalities, strategy,
                         "use a model with unimodal heads (config: unimodal_heads: true)")


def embeddings_of(output: ModelOutput, modalities: tuple[str, ...], strategy: str) -> dict[str, torch.Tensor]:
    """The embedding of every modality, or a ConfigError saying the model lacks them."""
    return _per_modality(output.embeddings, "embeddings (ModelOutput.embeddings)", modalities, strategy,
                         "this model does not return them")


def _per_modality(values: dict[str, torch.Tensor], what: str, modalities: tuple[str, ...], strategy: str,
                  hint: str) -> dict[str, torch.Tensor]:
    missing = [m for m in modalities if m not in values]
    if missing:
        raise ConfigError(f"strategy '{strategy}' needs per-modality {what} for {', '.join(missing)}; {hint}")
    return {m: values[m] for m in modalities}


def true_class_scores(logits: torch.Tensor, y: torch.Tensor, present: torch.Tensor,
                      reduction: str = "mean") -> torch.Tensor | None:
    """Softmax probability of the true class, summed or averaged over present samples.

    Returns None when no sample has the modality.
    """
    if not bool(present.any()):
        return None
    probs = torch.softmax(logits[present].detach().float(), dim=-1)
    picked = probs.gather(1, y[present].long().view(-1, 1)).squeeze(1)
    return picked.sum() if reduction == "sum" else picked.mean()


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


def move_batch(batch: dict[str, Any], module: L.LightningModule) -> dict[str, Any]:
    """``batch`` on the module's device (through the module's own transfer hook)."""
    return module.transfer_batch_to_device(batch, module.device, 0)


def world_size(trainer: Any) -> int:
    return int(getattr(trainer, "world_size", 1) or 1)


def reduce_sum(tensor: torch.Tensor, trainer: Any) -> torch.Tensor:
    """``tensor`` summed over the processes of a distributed run (unchanged in one process)."""
    if world_size(trainer) > 1:
        return trainer.strategy.reduce(tensor, reduce_op="sum")
    return tensor
