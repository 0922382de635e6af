"""Search spaces: parse and check specs, compose the space of a run, sample it into a config.

A spec is a small mapping, declared next to what it tunes (a class attribute
``search_space: ClassVar[dict[str, dict[str, Any]]]``, option key -> spec):

* ``{"type": "float", "low": 1e-5, "high": 1e-2, "log": True}`` (optional ``"step"``),
* ``{"type": "int", "low": 16, "high": 256, "log": True}`` (optional ``"step"``),
* ``{"type": "categorical", "choices": [16, 32, 64]}``.

The space of a run (:func:`compose_space`) is keyed by full dotted config keys: the
trainer's generic space (neural models), the model config's (the sizes of neural models),
the model's own, its fusion operator's (under ``fusion.``), the encoders' of the modality
kinds the dataset has (under ``encoders.<kind>.``, or ``encoders.<modality>.`` when the
config configures that modality by name) and, for strategies, the strategy's (under
``strategy.``). A ``--space`` YAML file overrides it:
dotted key -> spec, ``null`` removes a key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.encoders.factory import ENCODER_TYPES, default_encoder_type
from omnifuse.errors import ConfigError
from omnifuse.fusion import FUSION_OPERATORS
from omnifuse.models.config import config_class_of
from omnifuse.models.registry import ModelEntry, all_models, get_model, prefixed
from omnifuse.training.config import TRAINER_SPACE, RunConfig, TrainerConfig, merge
from omnifuse.utils.yaml_file import read_yaml_mapping

Space = dict[str, dict[str, Any]]

SPEC_TYPES = ("float", "int", "categorical")
#: Keys a spec of each type may carry.
SPEC_KEYS = {
    "float": {"type", "low", "high", "log", "step"},
    "int": {"type", "low", "high", "log", "step"},
    "categorical": {"type", "choices"},
}
#: Config sections holding options (``model.C``, ``fusion.rank``, ...); ``encoders`` and
#: ``select`` one level deeper (``encoders.<kind or modality>.<option>``).
SECTIONS = ("model", "fusion", "strategy", "encoders", "select")
DEEP_SECTIONS = ("encoders", "select")


def check_spec(key: str, spec: Any, source: str = "search space") -> dict[str, Any]:
    """``spec`` checked and normalised (numbers cast, ``log`` filled); ConfigError naming ``key``."""
    where = f"{source}: '{key}'"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: a spec must be a mapping with a 'type', got {spec!r}")
    kind = spec.get("type")
    if kind not in SPEC_TYPES:
        raise ConfigError(f"{where}: unknown spec type {kind!r} (valid: {', '.join(SPEC_TYPES)})")
    extra = sorted(set(spec) - SPEC_KEYS[kind])
    if extra:
        raise ConfigError(f"{where}: unknown spec field '{extra[0]}' (valid: {', '.join(sorted(SPEC_KEYS[kind]))})")
    if kind == "categorical":
        choices = spec.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ConfigError(f"{where}: 'choices' must be a non-empty list")
        bad = [c for c in choices if c is not None and not isinstance(c, (bool, int, float, str))]
        if bad:
            raise ConfigError(f"{where}: choices must be numbers, strings, booleans or null, got {bad[0]!r}")
        return {"type": kind, "choices": list(choices)}
    return _check_range(where, kind, spec)


def _check_range(where: str, kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    cast = float if kind == "float" else int
    out: dict[str, Any] = {"type": kind}
    for field in ("low", "high"):
        value = spec.get(field)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind == "int" and value != int(value)):
            raise ConfigError(
                f"{where}: '{field}' must be {'an integer' if kind == 'int' else 'a number'}, got {value!r}"
            )
        out[field] = cast(value)
    if out["low"] > out["high"]:
        raise ConfigError(f"{where}: low {out['low']} is above high {out['high']}")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ConfigError(f"{where}: 'log' must be true or false, got {log!r}")
    if log and out["low"] <= 0:
        raise ConfigError(f"{where}: a log scale needs low > 0, got {out['low']}")
    out["log"] = log
    if spec.get("step") is not None:
        step = spec["step"]
        if (
            isinstance(step, bool)
            or not isinstance(step, (int, float))
            or step <= 0
            or (kind == "int" and step != int(step))
        ):
            raise ConfigError(
                f"{where}: 'step' must be a positive {'integer' if kind == 'int' else 'number'}, got {step!r}"
            )
        if log:
            raise ConfigError(f"{where}: 'step' and 'log' cannot be combined")
        out["step"] = cast(step)
    return out


def check_space(space: dict[str, Any], source: str = "search space", model: str | ModelEntry | None = None) -> Space:
    """Every spec of ``space`` checked (see :func:`check_spec`) and every key a config key
    (of the trainer or of ``model``; of any model when None)."""
    keys = config_keys(model)
    return {key: check_spec(check_key(key, source, keys), spec, source) for key, spec in space.items()}


def config_keys(model: str | ModelEntry | None = None) -> tuple[str, ...]:
    """The top-level config keys of the trainer and ``model`` (every registered model when None)."""
    entries = [get_model(model) if isinstance(model, str) else model] if model is not None else all_models()
    return tuple(sorted(set(TrainerConfig.model_fields).union(*(config_class_of(e).model_fields for e in entries))))


def check_key(key: Any, source: str, valid: Iterable[str] | None = None) -> str:
    """``key`` if it names a config key of ``valid`` (default: the trainer's and every model's),
    with a sub-key for the option sections."""
    if not isinstance(key, str) or not key:
        raise ConfigError(f"{source}: keys must be dotted config keys, got {key!r}")
    parts = key.split(".")
    head = parts[0]
    valid = tuple(valid) if valid is not None else config_keys()
    if head not in valid:
        raise ConfigError(f"{source}: unknown key '{key}' ('{head}' is not a config key; valid: {', '.join(valid)})")
    depth = 3 if head in DEEP_SECTIONS else 2 if head in SECTIONS else 1
    if len(parts) != depth or not all(parts):
        shape = {1: head, 2: f"{head}.<option>", 3: "encoders.<kind or modality>.<option>"}[depth]
        raise ConfigError(f"{source}: unknown key '{key}' (expected {shape})")
    return key


def compose_space(
    model: str | ModelEntry, dataset: MultimodalDataset, config: RunConfig | Mapping[str, Any] | None = None
) -> Space:
    """The search space of ``model`` on ``dataset`` under ``config`` (full dotted keys)."""
    entry = get_model(model) if isinstance(model, str) else model
    user = config.flat(exclude_unset=True) if isinstance(config, RunConfig) else dict(config or {})
    raw = merge(entry.defaults, user)
    space: Space = {}
    if entry.neural:
        space.update(TRAINER_SPACE)
    space.update(config_class_of(entry).search_space)
    space.update(entry.space)
    if entry.fusion_key is not None:
        key, default = entry.fusion_key
        section, option = key.split(".", 1)
        operator = str(raw.get(section, {}).get(option, default))
        if operator in FUSION_OPERATORS:
            space.update(prefixed(FUSION_OPERATORS[operator].search_space, "fusion"))
    if entry.uses_encoders:
        space.update(_encoder_space(dataset, raw.get("encoders", {})))
    return check_space(space, source=f"search space of model '{entry.name}'", model=entry)


def _encoder_space(dataset: MultimodalDataset, encoders: dict[str, Any]) -> Space:
    """The spaces of the encoders the dataset's modalities get, under the section configuring them."""
    space: Space = {}
    for name in dataset.modalities:
        spec = dataset.specs[name]
        section = name if name in encoders else spec.kind
        options = encoders.get(section, {}) if isinstance(encoders.get(section, {}), dict) else {}
        type_ = str(options.get("type", default_encoder_type(spec.kind) or "")).lower()
        if type_ in ENCODER_TYPES:
            space.update(prefixed(ENCODER_TYPES[type_].search_space, f"encoders.{section}"))
    return space


def load_space_file(path: str | Path) -> dict[str, dict[str, Any] | None]:
    """The overrides of a ``--space`` YAML file: dotted key -> spec, or None to remove the key."""
    return read_yaml_mapping(path, "a search space")


def override_space(space: Space, overrides: dict[str, Any], source: str = "--space") -> Space:
    """``space`` with ``overrides`` applied: a spec adds or replaces a key, None removes one.
    Keys must be config keys (of the trainer or of some model; a key the tuned model does not
    own fails when the space is checked by building the model)."""
    out = {k: dict(v) for k, v in space.items()}
    keys = config_keys()
    for key, spec in overrides.items():
        check_key(key, source, keys)
        if spec is None:
            if key not in out:
                raise ConfigError(
                    f"{source}: '{key}' is not in the search space, nothing to remove "
                    f"(it has: {', '.join(sorted(out)) or 'nothing'})"
                )
            del out[key]
        else:
            out[key] = check_spec(key, spec, source)
    return out


def suggest(trial: Any, space: Space) -> dict[str, Any]:
    """Sample every key of ``space`` with an Optuna ``trial``: flat dotted key -> value."""
    values: dict[str, Any] = {}
    for key, spec in space.items():
        if spec["type"] == "categorical":
            values[key] = trial.suggest_categorical(key, spec["choices"])
        elif spec["type"] == "int":
            values[key] = trial.suggest_int(key, spec["low"], spec["high"], step=spec.get("step", 1), log=spec["log"])
        else:
            values[key] = trial.suggest_float(key, spec["low"], spec["high"], step=spec.get("step"), log=spec["log"])
    return values


def lowest(space: Space) -> dict[str, Any]:
    """The corner of ``space`` at every ``low`` (first choice): a cheap config to check it builds."""
    return {k: s["choices"][0] if s["type"] == "categorical" else s["low"] for k, s in space.items()}


def nest(values: dict[str, Any]) -> dict[str, Any]:
    """``{"model.C": 1.0, "lr": 0.01}`` -> ``{"model": {"C": 1.0}, "lr": 0.01}`` (config overrides)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out
