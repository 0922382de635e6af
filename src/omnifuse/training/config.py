"""Run configuration: one flat mapping (YAML file, ``--set`` overrides) split by owner.

The trainer owns the keys of :class:`TrainerConfig` (optimiser, epochs, early stopping,
devices, precision, seed, ensemble); the model owns the keys of its config class
(:mod:`omnifuse.models.config`: sizes, encoders, fusion, strategy, ``model`` options). Users
keep writing one flat mapping; :func:`split_config` hands every key to its owner and
:func:`resolve_config` validates both halves into a :class:`RunConfig`. An unknown key lists
the trainer's keys and the model's. When one config serves several models (a benchmark), a
key must belong to the trainer or to at least one of them, and each model takes the keys it
owns (options of a typed ``model`` section one by one).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnifuse.errors import ConfigError
from omnifuse.models.config import ModelConfig, config_class_of, entry_config
from omnifuse.models.registry import ModelEntry, get_model
from omnifuse.utils.mappings import merge
from omnifuse.utils.validation import validation_message
from omnifuse.utils.yaml_file import read_yaml_mapping

__all__ = [
    "TRAINER_SPACE",
    "RunConfig",
    "TrainerConfig",
    "load_config",
    "load_configs",
    "merge",
    "parse_overrides",
    "read_config",
    "resolve_config",
    "resolve_configs",
    "split_config",
    "validate_trainer",
]

#: The precisions Lightning's Trainer takes by name (a misspelt one fails when the config is read).
Precision = Literal[
    "transformer-engine",
    "transformer-engine-float16",
    "16-true",
    "16-mixed",
    "bf16-true",
    "bf16-mixed",
    "32-true",
    "64-true",
    "64",
    "32",
    "16",
    "bf16",
]


class TrainerConfig(BaseModel):
    """What the trainer reads: optimiser, epochs, early stopping, hardware and seeds.

    ``num_threads``: torch intra-op threads while training (0 = torch's default). One
    thread is the default: the models of this field are small enough to gain nothing from
    more, and several runs sharing the cores then do not oversubscribe them (BENCHMARKS.md).

    ``monitor``: what early stopping and the best-epoch choice watch. ``auto`` (the default)
    is the validation AUROC for binary and multiclass tasks when every class is in the
    validation set, Harrell's C-index (``val_cindex``) for survival tasks when the validation
    samples hold an event, else the validation loss: on small cohorts the loss rises (confidence
    overfits) long before the ranking stops improving (BENCHMARKS.md, "Small-cohort defaults").

    ``seed``: torch and numpy are seeded with it before a model is built; scikit-learn
    baselines use it as their random state.

    ``ensemble``: K > 1 trains K members with different seeds and validation carvings and
    averages their probabilities (neural models; one bundle, served as one model).

    ``calibrate``: ``temperature`` fits one temperature on the validation samples after
    training (Guo et al., ICML 2017); every probability the model gives is then calibrated.
    ``conformal``: a coverage in (0, 1) calibrates split conformal prediction sets on the
    validation samples, Mondrian by availability pattern (:mod:`omnifuse.uncertainty`);
    ``conformal_by_class`` gives each class its own threshold too, so a rare class is covered
    at the target rather than only on average over patients. With
    either, ensemble members carve their validation sets from the training samples only, so
    the validation samples stay unseen by every member.
    """

    model_config = ConfigDict(extra="forbid")

    seed: int = 0
    max_epochs: int = Field(60, ge=1)
    min_epochs: int = Field(1, ge=0)
    batch_size: int = Field(32, ge=1)
    lr: float = Field(1e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    patience: int = Field(10, ge=1)
    monitor: str = "auto"
    val_fraction: float = Field(0.2, gt=0, lt=1)
    accelerator: str = "cpu"
    devices: int = Field(1, ge=1)
    num_nodes: int = Field(1, ge=1)
    ddp: str = "ddp"
    precision: Precision = "32-true"
    deterministic: bool = True
    num_threads: int = Field(1, ge=0)
    log_every_n_steps: int = Field(10, ge=1)
    progress: bool = False
    checkpoint_dir: Optional[str] = None
    ensemble: int = Field(1, ge=1)
    calibrate: Literal["none", "temperature"] = "none"
    conformal: Optional[float] = Field(None, gt=0, lt=1)
    conformal_by_class: bool = False


#: The trainer's hyperparameters, tuned for every neural model alongside the model's own
#: (dotted config key -> spec, see :mod:`omnifuse.tuning.space`; the sizes are the model
#: config's, :data:`omnifuse.models.config.SIZE_SPACE`).
TRAINER_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
}

MONITORS = ("auto", "val_loss", "val_auroc", "val_accuracy", "val_cindex")
DDP_STRATEGIES = ("ddp", "ddp_spawn", "ddp_fork")


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}`` (values parsed as YAML scalars)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set expects key=value, got '{item}'")
        key, raw = item.split("=", 1)
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: '{part}' is not a section")
        node[parts[-1]] = value
    return out


def read_config(path: str | Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """The flat mapping of a YAML file with ``--set`` overrides applied (not validated)."""
    raw: dict[str, Any] = read_yaml_mapping(path, "a config") if path is not None else {}
    return merge(raw, parse_overrides(overrides))


def validate_trainer(raw: Mapping[str, Any], source: str = "config") -> TrainerConfig:
    """The trainer's keys validated; a bad value names the key."""
    try:
        config = TrainerConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(
            validation_message(exc, source, valid=sorted(TrainerConfig.model_fields), label="key")
        ) from exc
    if config.ddp not in DDP_STRATEGIES:
        raise ConfigError(f"{source}: unknown ddp '{config.ddp}' (valid: {', '.join(DDP_STRATEGIES)})")
    if config.monitor not in MONITORS:
        raise ConfigError(f"{source}: unknown monitor '{config.monitor}' (valid: {', '.join(MONITORS)})")
    return config


@dataclass(frozen=True)
class RunConfig:
    """The config of one run: the trainer's and the model's."""

    trainer: TrainerConfig
    model: ModelConfig

    def flat(self, exclude_unset: bool = False) -> dict[str, Any]:
        """Both halves as the one flat mapping users write (YAML, ``--set``, ``run.json``)."""
        return {
            **self.trainer.model_dump(exclude_unset=exclude_unset),
            **self.model.model_dump(mode="json", exclude_unset=exclude_unset),
        }


ModelRef = str | ModelEntry


def split_config(
    raw: Mapping[str, Any], models: Sequence[ModelRef], source: str = "config", ignore_unknown: bool = False
) -> dict[str, dict[str, Any]]:
    """``raw`` split by owner: per model, the trainer's keys and the keys the model owns.

    With one model every other key is an error listing the valid ones (the trainer's and the
    model's). With several, a key must belong to the trainer or to at least one model; an
    option of a section the models type with their own options (``model.C``) must belong to
    one of them and goes only to those. ``ignore_unknown`` drops keys nobody owns instead.
    """
    entries = [get_model(m) if isinstance(m, str) else m for m in models]
    trainer_keys = set(TrainerConfig.model_fields)
    classes = {e.name: config_class_of(e) for e in entries}
    parts: dict[str, dict[str, Any]] = {e.name: {} for e in entries}
    for key, value in raw.items():
        if key in trainer_keys:
            for part in parts.values():
                part[key] = value
            continue
        owners = [name for name, cls in classes.items() if key in cls.model_fields]
        if not owners:
            if ignore_unknown:
                continue
            valid = sorted(trainer_keys.union(*(cls.model_fields for cls in classes.values())))
            raise ConfigError(f"{source}: unknown key '{key}' (valid: {', '.join(valid)})")
        sections = {name: classes[name].section_options(key) for name in owners}
        if (
            (len(entries) == 1 and not ignore_unknown)
            or not isinstance(value, Mapping)
            or any(options is None for options in sections.values())
        ):
            for name in owners:
                parts[name][key] = value
            continue
        owned = {name: set(options or ()) for name, options in sections.items()}
        known = set().union(*owned.values())
        unknown = [option for option in value if option not in known]
        if unknown and not ignore_unknown:
            raise ConfigError(
                f"{source}: unknown option '{key}.{unknown[0]}' (valid: {', '.join(sorted(known)) or 'none'})"
            )
        for name in owners:
            mine = {k: v for k, v in value.items() if k in owned[name]}
            if mine:
                parts[name][key] = mine
    return parts


def resolve_config(
    model: ModelRef, raw: Mapping[str, Any] | None = None, source: str | None = None, ignore_unknown: bool = False
) -> RunConfig:
    """The :class:`RunConfig` of ``model``: the trainer's keys of ``raw`` and the model's
    keys overlaid on the model's registered defaults, validated."""
    entry = get_model(model) if isinstance(model, str) else model
    where = entry.name if source is None else f"{source}: {entry.name}"  # model keys: name the model
    source = source or f"model '{entry.name}'"
    part = split_config(dict(raw or {}), [entry], source, ignore_unknown)[entry.name]
    trainer_raw = {k: v for k, v in part.items() if k in TrainerConfig.model_fields}
    model_raw = {k: v for k, v in part.items() if k not in TrainerConfig.model_fields}
    return RunConfig(validate_trainer(trainer_raw, source), entry_config(entry, model_raw, where))


def resolve_configs(
    models: Sequence[ModelRef], raw: Mapping[str, Any] | None = None, source: str = "config"
) -> dict[str, RunConfig]:
    """The :class:`RunConfig` of every model when one flat ``raw`` serves them all."""
    parts = split_config(dict(raw or {}), models, source)
    entries = [get_model(m) if isinstance(m, str) else m for m in models]
    return {e.name: resolve_config(e, parts[e.name], source) for e in entries}


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, *, model: ModelRef) -> RunConfig:
    """The resolved config of ``model`` from its defaults, a YAML file and ``--set``
    overrides (in that order)."""
    return resolve_config(model, read_config(path, overrides), _source(path))


def load_configs(
    path: str | Path | None, overrides: list[str] | None, models: Sequence[ModelRef]
) -> tuple[dict[str, Any], dict[str, RunConfig]]:
    """The flat mapping of a YAML file and ``--set`` overrides, and what it resolves to for
    each of ``models`` (every key checked before anything runs)."""
    raw = read_config(path, overrides)
    return raw, resolve_configs(models, raw, _source(path))


def _source(path: str | Path | None) -> str:
    return str(path) if path is not None else "--set"
