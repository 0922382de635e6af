"""Training configuration: YAML files validated by pydantic, overridable with ``--set``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from omnifuse.utils.validation import validation_message
from omnifuse.errors import ConfigError
from omnifuse.utils.yaml_file import read_yaml_mapping


class TrainConfig(BaseModel):
    """Every hyperparameter of a run. Dotted ``--set`` keys reach nested dicts
    (``--set fusion.rank=8``, ``--set encoders.omics.type=dae``).

    ``num_threads``: torch intra-op threads while training (0 = torch's default). One
    thread is the default: the models of this field are small enough to gain nothing from
    more, and several runs sharing the cores then do not oversubscribe them (BENCHMARKS.md).

    ``monitor``: what early stopping and the best-epoch choice watch. ``auto`` (the default)
    is the validation AUROC for binary and multiclass tasks when every class is in the
    validation set, else the validation loss: on small cohorts the loss rises (confidence
    overfits) long before the ranking stops improving (BENCHMARKS.md, "Small-cohort defaults").

    ``select``: per-modality feature selection fitted on the training samples only, keyed
    by modality name or kind (``--set select.omics.top_k=200``; see
    :class:`omnifuse.encoders.selection.SelectionOptions`).

    ``ensemble``: K > 1 trains K members with different seeds and validation carvings and
    averages their probabilities (neural models; one bundle, served as one model).
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
    embed_dim: int = Field(64, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    head_hidden: int = Field(64, ge=0)
    unimodal_heads: bool = False
    unimodal_weight: float = Field(0.0, ge=0)
    encoders: dict[str, dict[str, Any]] = Field(default_factory=dict)
    select: dict[str, dict[str, Any]] = Field(default_factory=dict)
    fusion: dict[str, Any] = Field(default_factory=dict)
    strategy: dict[str, Any] = Field(default_factory=dict)
    model: dict[str, Any] = Field(default_factory=dict)
    accelerator: str = "cpu"
    devices: int = Field(1, ge=1)
    num_nodes: int = Field(1, ge=1)
    ddp: str = "ddp"
    precision: str = "32-true"
    deterministic: bool = True
    num_threads: int = Field(1, ge=0)
    log_every_n_steps: int = Field(10, ge=1)
    progress: bool = False
    checkpoint_dir: Optional[str] = None
    ensemble: int = Field(1, ge=1)


#: The generic hyperparameters of every neural model, tuned alongside the model's own
#: (dotted config key -> spec, see :mod:`omnifuse.tuning.space`).
TRAINER_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
    "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    "dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "embed_dim": {"type": "int", "low": 16, "high": 128, "log": True},
    "head_hidden": {"type": "int", "low": 16, "high": 128, "log": True},
    "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
}

MONITORS = ("auto", "val_loss", "val_auroc", "val_accuracy")
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


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict merge; ``override`` wins."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None,
                defaults: dict[str, Any] | None = None) -> TrainConfig:
    """Build a config from model defaults, a YAML file and ``--set`` overrides (in that order)."""
    raw: dict[str, Any] = dict(defaults or {})
    if path is not None:
        raw = merge(raw, read_yaml_mapping(path, "a config"))
    raw = merge(raw, parse_overrides(overrides))
    return validate_config(raw, source=str(path) if path else "--set")


def validate_config(raw: dict[str, Any], source: str = "config") -> TrainConfig:
    """Validate a raw dict; an unknown key lists the valid ones."""
    try:
        config = TrainConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, source, valid=sorted(TrainConfig.model_fields), label="key")) from exc
    if config.ddp not in DDP_STRATEGIES:
        raise ConfigError(f"{source}: unknown ddp '{config.ddp}' (valid: {', '.join(DDP_STRATEGIES)})")
    if config.monitor not in MONITORS:
        raise ConfigError(f"{source}: unknown monitor '{config.monitor}' (valid: {', '.join(MONITORS)})")
    return config
