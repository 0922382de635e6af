"""Registers every balancing strategy as a model name (kind "strategy").

Entries come from the :class:`~omnifuse.balance.base.Strategy` subclasses' class metadata
(``name``, ``paper``, docstring, ``defaults``), never from a hand-kept list; strategies that are
one model's objective (``standalone = False``) are built by that model's entry instead. A strategy model is
a :class:`~omnifuse.models.fusion_model.FusionModel` whose fusion operator is
``config.strategy["base"]`` (default "concat"), trained with the strategy built from the rest of
``config.strategy``. Strategies reading unimodal heads (g-blend, ogm-ge) enable them through
their entry's defaults (``unimodal_heads: true``); ogm-ge also trains them
(``unimodal_weight: 1.0``).
"""

from __future__ import annotations

from functools import partial

from omnifuse.balance import alignment, gblend, modality_dropout, ogm_ge, pmr  # noqa: F401  (defines the subclasses)
from omnifuse.balance.base import Strategy, all_strategies
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.fusion import FUSION_OPERATORS
from omnifuse.models.fusion_model import FusionModel
from omnifuse.models.registry import ModelEntry, first_line, prefixed, register
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
    if base not in FUSION_OPERATORS:
        raise ConfigError(
            f"strategy '{strategy.name}': unknown base fusion '{base}' (valid: {', '.join(sorted(FUSION_OPERATORS))})"
        )
    hook = strategy.from_config(config, task=dataset.task)
    model = FusionModel.from_dataset(dataset, config, fusion=base)
    return model, [hook]


def _register_strategies() -> None:
    for cls in all_strategies():
        if not cls.standalone:
            continue
        register(
            ModelEntry(
                name=cls.name,
                kind=cls.kind,
                paper=cls.paper,
                description=first_line(cls.__doc__),
                build=partial(build_strategy_model, strategy=cls),
                defaults=dict(cls.defaults),
                space=prefixed(cls.search_space, "strategy"),
                fusion_key=("strategy.base", DEFAULT_BASE),
            )
        )


_register_strategies()
