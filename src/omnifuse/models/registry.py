"""The model registry, filled from class metadata (never a hand-kept list).

Every registrable class carries ``name``, ``kind`` ("fusion", "strategy", "baseline",
"model"), ``paper`` and a docstring. Classes register themselves when their module is
imported (:func:`registered` is a class decorator); the entries live in :data:`MODELS`, a
:class:`~omnifuse.utils.registry.Registry` that imports :mod:`omnifuse.models` and
:mod:`omnifuse.balance` on first use. Every fusion operator is also "a fusion model with
this operator" (:mod:`omnifuse.models.fusion_model`) and every strategy "a fusion model
trained with this strategy" (:mod:`omnifuse.models.strategies`): those entries are derived
from the fusion and strategy registries (:meth:`~omnifuse.utils.registry.Registry.derive`).

Search spaces are declared next to what they tune: a class attribute
``search_space: ClassVar[dict[str, dict[str, Any]]]`` (option key -> spec). Model classes use
full dotted config keys (``"model.C"``); fusion operators, encoders and strategies use keys
relative to their config section (``fusion.``, ``encoders.<kind>.``, ``strategy.``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from omnifuse.tasks import TASK_NAMES
from omnifuse.utils.registry import Registry

MODEL_KINDS = ("fusion", "strategy", "baseline", "model")

#: A registrable class: ``type[Any]`` because its metadata (``name``, ``kind``, ``from_config``, ...)
#: are class attributes each class declares itself, read here by name.
_Registrable = TypeVar("_Registrable", bound="type[Any]")


@dataclass(frozen=True)
class ModelEntry:
    """A name users can pass to ``--model``/``--models``.

    Attributes:
        name: the registered name.
        kind: one of :data:`MODEL_KINDS`.
        paper: where the method comes from.
        description: one line for ``omnifuse models``.
        build: ``build(dataset, config) -> model`` or ``(model, training hooks)``; ``config`` is
            an instance of ``config_class`` (an ``nn.Module`` or a baseline estimator).
        defaults: configuration overrides this name implies (e.g. which fusion operator).
        space: the hyperparameters this name tunes, full dotted config key -> spec (see
            :mod:`omnifuse.tuning.space`): the class's ``search_space`` and, for a fusion
            operator's entry, the operator's (under ``fusion.``).
        neural: trained by the Lightning loop (the trainer's space applies).
        uses_encoders: builds one encoder per modality (the encoders' spaces apply).
        fusion_key: ``(dotted key, default)`` of the option naming the fusion operator this
            name uses when it is configurable (e.g. ``("strategy.base", "concat")``).
        config_class: the model config this name is built from (the keys it owns, see
            :mod:`omnifuse.models.config`).
        model_class: the class built; ``model_class.from_config(schema, config)`` rebuilds
            the model alone (no training hooks), e.g. from a bundle.
        tasks: the task kinds this name trains on (None: those of ``model_class``, or every
            kind without one); see :attr:`supported_tasks`.
    """

    name: str
    kind: str
    paper: str
    description: str
    build: Callable[..., Any]
    defaults: dict[str, Any] = field(default_factory=dict)
    space: dict[str, dict[str, Any]] = field(default_factory=dict)
    neural: bool = True
    uses_encoders: bool = True
    fusion_key: tuple[str, str] | None = None
    config_class: type | None = None
    model_class: type[Any] | None = None
    tasks: tuple[str, ...] | None = None

    @property
    def supported_tasks(self) -> tuple[str, ...]:
        """The task kinds this name trains on."""
        if self.tasks is not None:
            return self.tasks
        if self.model_class is not None and hasattr(self.model_class, "tasks"):
            return tuple(self.model_class.tasks)
        return TASK_NAMES

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "paper": self.paper, "description": self.description}


#: Every model entry by name, ordered by kind (:data:`MODEL_KINDS`) then name.
MODELS: Registry[ModelEntry] = Registry(
    "model", packages=("omnifuse.models", "omnifuse.balance"), order=lambda entry: MODEL_KINDS.index(entry.kind)
)


def register(entry: ModelEntry) -> ModelEntry:
    """Add ``entry``; a name can be registered once."""
    if entry.kind not in MODEL_KINDS:
        raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {entry.kind!r}")
    return MODELS.register(entry, name=entry.name)


def registered(cls: _Registrable) -> _Registrable:
    """Class decorator: register ``cls`` from its ``name``/``kind``/``paper``/docstring."""
    register(
        ModelEntry(
            name=cls.name,
            kind=cls.kind,
            paper=getattr(cls, "paper", ""),
            description=first_line(cls.__doc__),
            build=cls.from_config,
            defaults=dict(getattr(cls, "defaults", {})),
            space=dict(getattr(cls, "search_space", {})),
            neural=bool(getattr(cls, "neural", True)),
            uses_encoders=bool(getattr(cls, "uses_encoders", True)),
            fusion_key=getattr(cls, "fusion_key", None),
            config_class=getattr(cls, "config_class", None),
            model_class=cls,
        )
    )
    return cls


def prefixed(space: dict[str, dict[str, Any]], prefix: str) -> dict[str, dict[str, Any]]:
    """``space`` with every key under ``prefix`` (a part's keys -> full dotted config keys)."""
    return {f"{prefix}.{key}": dict(spec) for key, spec in space.items()}


def first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0].rstrip(".") if doc else ""


def get_model(name: str) -> ModelEntry:
    """The entry for ``name``; an unknown name raises ConfigError listing the valid ones."""
    return MODELS.get(name)


def all_models() -> list[ModelEntry]:
    """Every registered entry, ordered by kind then name."""
    return MODELS.all()
