"""Model configs: the keys each model owns, checked when the config is loaded.

A run's flat configuration (a YAML file, ``--set`` overrides) holds the trainer's keys
(:class:`omnifuse.training.config.TrainerConfig`) and the model's. Every model class declares
its config class (``config_class``); a config class has exactly the keys its models read:

* :class:`NeuralConfig`: the sizes of a network's embeddings and heads (``embed_dim``,
  ``dropout``, ``head_hidden``), tuned for every model whose config has them
  (:data:`SIZE_SPACE`);
* :class:`EncodedConfig`: models with one encoder per modality add ``encoders``,
  ``select`` and ``unimodal_weight`` (the weight of the unimodal heads' loss);
* :class:`FusionConfig` (intermediate fusion) adds ``unimodal_heads``, ``fusion`` (the
  operator's options) and ``model`` (:class:`FusionOptions`); :class:`HybridConfig`,
  :class:`StrategyConfig` and :class:`LateConfig` follow their models;
* models with their own options type the ``model`` section with them (OmniFuse, the sleep
  models, the scikit-learn baselines; their configs sit next to their options).

Sections whose keys depend on the part they configure (``encoders.<kind or modality>``,
``fusion``, ``strategy``) are checked against that part's constructor
(:func:`omnifuse.utils.options.check_options`), so a wrong key or type fails when the config
is loaded, not when the model is built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from omnifuse.balance.base import STRATEGIES
from omnifuse.encoders.factory import ENCODER_TYPES, KIND_TYPES, default_encoder_type
from omnifuse.encoders.selection import SelectionOptions
from omnifuse.errors import ConfigError
from omnifuse.fusion import FUSION_OPERATORS
from omnifuse.fusion.base import FUSIONS
from omnifuse.utils.mappings import merge
from omnifuse.utils.options import check_options
from omnifuse.utils.validation import validation_message

if TYPE_CHECKING:
    from omnifuse.models.registry import ModelEntry

C = TypeVar("C", bound="ModelConfig")

#: The size keys of every neural model's config, tuned alongside the model's own options
#: (dotted config key -> spec, see :mod:`omnifuse.tuning.space`).
SIZE_SPACE: dict[str, dict[str, Any]] = {
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "embed_dim": {"type": "int", "low": 16, "high": 128, "log": True},
    "head_hidden": {"type": "int", "low": 16, "high": 128, "log": True},
}


class ModelConfig(BaseModel):
    """Base of every model config: the keys one model owns, nothing else."""

    model_config = ConfigDict(extra="forbid")

    #: Tunable keys of the config itself (full dotted config keys).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The top-level keys of this config, sorted."""
        return tuple(sorted(cls.model_fields))

    @classmethod
    def section_options(cls, key: str) -> tuple[str, ...] | None:
        """The options of section ``key`` when it is typed by a pydantic model (a model's
        own ``model`` options), in declaration order; None for other keys."""
        field = cls.model_fields.get(key)
        annotation = field.annotation if field is not None else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return tuple(annotation.model_fields)
        return None

    @classmethod
    def load(cls: type[C], raw: Mapping[str, Any], name: str = "model") -> C:
        """``raw`` validated; any problem is a one-line :class:`ConfigError` naming the model
        ``name`` and the key (an unknown option of a typed section lists that section's)."""
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            options = cls.section_options(str(loc[0])) if loc else None
            if options is not None:
                raise ConfigError(validation_message(exc, name, valid=options, label="option")) from None
            raise ConfigError(validation_message(exc, name, valid=cls.keys(), label="key")) from None


class NeuralConfig(ModelConfig):
    """Sizes of a network: embeddings, classifier heads and their dropout.

    Survival tasks only: ``survival_head`` is ``cox`` (one log-risk per patient, the Cox
    partial likelihood with Breslow ties, DeepSurv-style) or ``logistic_hazard`` (one hazard
    logit per time interval, ``survival_bins`` intervals cut at quantiles of the training
    fold's event times; fewer when event times tie).
    """

    embed_dim: int = Field(64, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    head_hidden: int = Field(64, ge=0)
    survival_head: Literal["cox", "logistic_hazard"] = "cox"
    survival_bins: int = Field(10, ge=1, le=200)

    search_space: ClassVar[dict[str, dict[str, Any]]] = SIZE_SPACE


class EncodedConfig(NeuralConfig):
    """A network with one encoder per modality.

    ``encoders``: options per modality name or kind (``encoders.omics.type: dae``), checked
    against the encoder they configure. ``select``: per-modality feature selection fitted on
    the training samples (:class:`~omnifuse.encoders.selection.SelectionOptions`).
    ``unimodal_weight``: weight of the unimodal heads' loss (models that have them).
    """

    unimodal_weight: float = Field(0.0, ge=0)
    encoders: dict[str, dict[str, Any]] = Field(default_factory=dict)
    select: dict[str, SelectionOptions] = Field(default_factory=dict)

    @field_validator("encoders")
    @classmethod
    def _check_encoders(cls, encoders: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        for key, options in encoders.items():
            check_encoder_options(key, options)
        return encoders


class FusionOptions(BaseModel):
    """``model`` of an intermediate fusion model."""

    model_config = ConfigDict(extra="forbid")

    #: With unimodal heads, average the joint logits with the present heads' logits.
    combine_unimodal: bool = False


class FusionConfig(EncodedConfig):
    """Intermediate fusion: encoders, the fusion operator ``fusion_name`` with the options of
    ``fusion``, a joint head and optional unimodal heads.

    Each operator's registered model has its own subclass (:meth:`for_operator`), so the
    operator is part of the config's type and its options are checked when it is loaded.
    """

    #: The operator of this config's fusion model (see :meth:`for_operator`).
    operator: ClassVar[str] = "concat"

    unimodal_heads: bool = False
    fusion: dict[str, Any] = Field(default_factory=dict)
    model: FusionOptions = Field(default_factory=FusionOptions)

    @property
    def fusion_name(self) -> str:
        """The fusion operator the model uses."""
        return self.operator

    @model_validator(mode="after")
    def _check_parts(self) -> "FusionConfig":
        self.check_parts()
        return self

    def check_parts(self) -> None:
        """Check the options of the parts the config names (subclasses add their own)."""
        check_fusion_options(self.fusion_name, self.fusion)

    @classmethod
    def for_operator(cls, name: str) -> type["FusionConfig"]:
        """The config class of the fusion model with operator ``name`` (one class per name)."""
        FUSIONS.get(name)  # an unknown name lists the valid ones
        return _subclass(cls, name, {"operator": name}, f"{cls.__name__} of the fusion model with operator '{name}'.")


class HybridOptions(FusionOptions):
    """``model`` of the hybrid model: its intermediate part's operator."""

    fusion: str = "concat"


class HybridConfig(FusionConfig):
    """Hybrid fusion: the operator is ``model.fusion``."""

    model: HybridOptions = Field(default_factory=HybridOptions)

    @property
    def fusion_name(self) -> str:
        return self.model.fusion


class StrategyConfig(FusionConfig):
    """A fusion model trained with a balancing strategy: ``strategy`` holds the strategy's
    hyperparameters and ``strategy.base`` the operator (default concat).

    Each strategy has its own subclass (:meth:`for_strategy`), whose ``strategy_class``
    checks the section when the config is loaded.
    """

    #: The strategy class (a :class:`omnifuse.balance.base.Strategy`) this config trains with.
    strategy_class: ClassVar[Any] = None
    #: ``strategy.base`` when unset.
    default_base: ClassVar[str] = "concat"

    strategy: dict[str, Any] = Field(default_factory=dict)

    @property
    def fusion_name(self) -> str:
        return str(self.strategy.get("base", self.default_base))

    def check_parts(self) -> None:
        if self.strategy_class is not None:
            name = self.strategy_class.name
            if self.fusion_name not in FUSION_OPERATORS:
                try:
                    FUSIONS.get(self.fusion_name)
                except ConfigError as exc:
                    raise ConfigError(f"strategy '{name}': the base fusion is wrong: {exc}") from None
            options = {k: v for k, v in self.strategy.items() if k != "base"}  # base is read here, not by the strategy
            check_options(self.strategy_class, options, f"strategy '{name}'", also_valid=("base",))
        super().check_parts()

    @classmethod
    def for_strategy(cls, strategy: Any) -> type["StrategyConfig"]:
        """The config class of the model trained with ``strategy`` (a Strategy subclass)."""
        return _subclass(
            cls, strategy.name, {"strategy_class": strategy}, f"{cls.__name__} of strategy '{strategy.name}'."
        )


class LateOptions(BaseModel):
    """``model`` of late fusion."""

    model_config = ConfigDict(extra="forbid")

    #: "mean" over present modalities, or "learned" softmax weights renormalised over them.
    combine: Literal["mean", "learned"] = "mean"


class LateConfig(EncodedConfig):
    """Late fusion: one head per modality (always), combined as ``model.combine`` says."""

    model: LateOptions = Field(default_factory=LateOptions)


def _subclass(base: type[C], label: str, namespace: dict[str, Any], doc: str) -> type[C]:
    """The subclass ``base[label]`` with class attributes ``namespace`` (made once).

    It is an attribute of this module under its own name, so pickle finds it (a DDP process
    spawned to train a model makes it again on first lookup, see :func:`__getattr__`)."""
    name = f"{base.__name__}[{label}]"
    existing = globals().get(name)
    if existing is None or any(getattr(existing, k) != v for k, v in namespace.items()):  # a part registered anew
        metaclass: type = type(base)  # pydantic's model metaclass, called as type(name, bases, namespace)
        existing = metaclass(name, (base,), {**namespace, "__module__": __name__, "__qualname__": name, "__doc__": doc})
        globals()[name] = existing
    return existing


# ---------------------------------------------------------------------- part options
def check_fusion_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of fusion operator ``name``, typed; an unknown operator or option lists the valid ones."""
    return check_options(FUSIONS.get(name), options, f"fusion '{name}'", skip=("n_modalities", "dim"))


def check_encoder_options(key: str, options: Mapping[str, Any]) -> None:
    """Check section ``encoders.<key>`` against the encoder it configures.

    The encoder is the section's ``type``, or the default type when ``key`` is a modality
    kind. A section named after a modality without a ``type`` is checked when the model is
    built (its kind comes from the data).
    """
    where = f"encoders.{key}"
    type_ = options.get("type", default_encoder_type(key) if key in KIND_TYPES else None)
    if type_ is None:
        return
    if not isinstance(type_, str) or type_.lower() not in ENCODER_TYPES:
        valid = KIND_TYPES.get(key, tuple(sorted(ENCODER_TYPES)))
        raise ConfigError(
            f"{where}: unknown encoder type {type_!r} (valid{f' for {key}' if key in KIND_TYPES else ''}: "
            f"{', '.join(valid)})"
        )
    rest = {k: v for k, v in options.items() if k != "type"}
    check_options(
        ENCODER_TYPES[type_.lower()],
        rest,
        f"{where}: {type_.lower()} encoder",
        skip=("input_dim", "output_dim"),
        also_valid=("type",),
    )


# ---------------------------------------------------------------------- registered names
def config_class_of(entry: "ModelEntry") -> type[ModelConfig]:
    """The config class of a registered model (the base :class:`ModelConfig` when it declares none)."""
    return entry.config_class or ModelConfig


def entry_config(entry: "ModelEntry", raw: Mapping[str, Any] | None = None, where: str | None = None) -> ModelConfig:
    """The config of registered model ``entry``: its defaults overlaid with ``raw`` (the
    model's keys of a flat config), validated; messages start with ``where`` (the name)."""
    return config_class_of(entry).load(merge(entry.defaults, dict(raw or {})), where or entry.name)


def as_config(config_class: type[C], config: Any, name: str) -> C:
    """``config`` if it is a ``config_class``; a mapping is validated into one."""
    if isinstance(config, config_class):
        return config
    if isinstance(config, Mapping):
        return config_class.load(config, name)
    raise ConfigError(
        f"model '{name}' is configured by a {config_class.__name__} (or a mapping of its keys), "
        f"not a {type(config).__name__}"
    )


def __getattr__(name: str) -> Any:
    """``FusionConfig[<operator>]`` and ``StrategyConfig[<strategy>]`` made on first lookup
    (unpickling a model config in a fresh process)."""
    base, _, label = name.partition("[")
    if label.endswith("]"):
        if base == FusionConfig.__name__:
            return FusionConfig.for_operator(label[:-1])
        if base == StrategyConfig.__name__:
            return StrategyConfig.for_strategy(STRATEGIES.get(label[:-1]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
