"""Registers every balancing strategy as a model name (kind "strategy").

Entries are derived from the strategy registry (:data:`~omnifuse.balance.base.STRATEGIES`):
each registered class's metadata (``name``, ``paper``, docstring, ``defaults``) makes one,
never a hand-kept list, and a strategy registered later is a model name too. A strategy model is
a :class:`~omnifuse.models.fusion_model.FusionModel` whose fusion operator is
``config.strategy["base"]`` (default "concat"), trained with the strategy built from the rest of
``config.strategy``. Strategies reading unimodal heads (g-blend, ogm-ge) enable them through
their entry's defaults (``unimodal_heads: true``); ogm-ge also trains them
(``unimodal_weight: 1.0``).
"""

from __future__ import annotations

from functools import partial

from omnifuse.balance.base import STRATEGIES, Strategy
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS
from omnifuse.models.fusion_model import FusionModel
from omnifuse.models.registry import MODELS, ModelEntry, first_line, prefixed
from omnifuse.training.config import TrainConfig

DEFAULT_BASE = "concat"


def build_strategy_model(dataset: MultimodalDataset, config: TrainConfig,
                         strategy: type[Strategy]) -> tuple[FusionModel, list[Strategy]]:
    """``(FusionModel with fusion config.strategy["base"], [the strategy])`` for ``dataset``.

    Unimodal heads follow ``config.unimodal_heads`` (set by the entry's defaults).

    The task and every strategy option are checked before the model is built.
    """
    strategy.check_task(dataset.task)
    base = str(config.strategy.get("base", DEFAULT_BASE))
    try:
        FUSIONS.get(base)
    except ConfigError as exc:
        raise ConfigError(f"strategy '{strategy.name}': the base fusion is wrong: {exc}") from None
    hook = strategy.from_config(config, task=dataset.task)
    model = FusionModel.from_dataset(dataset, config, fusion=base)
    return model, [hook]


def _strategy_entry(name: str, cls: type[Strategy]) -> ModelEntry:
    """The model entry of strategy ``name``: a :class:`FusionModel` trained with it."""
    return ModelEntry(
        name=name,
        kind=cls.kind,
        paper=cls.paper,
        description=first_line(cls.__doc__),
        build=partial(build_strategy_model, strategy=cls),
        defaults=dict(cls.defaults),
        space=prefixed(cls.search_space, "strategy"),
        fusion_key=("strategy.base", DEFAULT_BASE),
    )


def _register_strategies() -> None:
    MODELS.derive(STRATEGIES, _strategy_entry)


_register_strategies()
