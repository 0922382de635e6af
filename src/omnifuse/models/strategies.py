"""Registers every balancing strategy as a model name (kind "strategy").

Entries are derived from the strategy registry (:data:`~omnifuse.balance.base.STRATEGIES`):
each registered class's metadata (``name``, ``paper``, docstring, ``defaults``) makes one,
never a hand-kept list, and a strategy registered later is a model name too. A strategy model is
a :class:`~omnifuse.models.fusion_model.FusionModel` whose fusion operator is
``config.strategy["base"]`` (default "concat"), trained with the strategy built from the rest of
``config.strategy``; its config class (:meth:`omnifuse.models.config.StrategyConfig.for_strategy`)
checks the strategy's options when the config is loaded. Strategies reading unimodal heads
(g-blend, ogm-ge) enable them through their entry's defaults (``unimodal_heads: true``); ogm-ge
also trains them (``unimodal_weight: 1.0``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from omnifuse.balance.base import STRATEGIES, Strategy
from omnifuse.models.config import StrategyConfig
from omnifuse.models.fusion_model import FusionModel
from omnifuse.models.registry import MODELS, ModelEntry, first_line, prefixed

DEFAULT_BASE = StrategyConfig.default_base


def build_strategy_model(
    schema: Any, config: StrategyConfig, strategy: type[Strategy]
) -> tuple[FusionModel, list[Strategy]]:
    """``(FusionModel with fusion config.strategy["base"], [the strategy])`` for ``schema``
    (a dataset or its schema).

    Unimodal heads follow ``config.unimodal_heads`` (set by the entry's defaults).

    The task is checked before the model is built (the options were checked with the config).
    """
    strategy.check_task(schema.task)
    hook = strategy.from_config(config, task=schema.task)
    model = FusionModel.from_config(schema, config)
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
        config_class=StrategyConfig.for_strategy(cls),
        model_class=FusionModel,
        tasks=tuple(t for t in FusionModel.tasks if t in cls.tasks),
    )


def _register_strategies() -> None:
    MODELS.derive(STRATEGIES, _strategy_entry)


_register_strategies()
