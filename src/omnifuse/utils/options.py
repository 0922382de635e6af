"""Typed, checked constructor options: the one place that rejects an unknown option.

Fusion operators, encoders and strategies are configured by a mapping of keyword arguments
(``fusion: {rank: 8}``). :func:`check_options` validates such a mapping against the class's
constructor signature through a pydantic model derived from its annotations, so a wrong
type and an unknown key both become a one-line :class:`~omnifuse.errors.ConfigError` that
names the part and lists the valid options.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from omnifuse.errors import ConfigError
from omnifuse.utils.validation import validation_message

_NAMED = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def constructor_options(cls: type, skip: Iterable[str] = ()) -> tuple[str, ...]:
    """The keyword arguments of ``cls.__init__`` a config may set (``self`` and ``skip`` left out)."""
    left_out = {"self", *skip}
    params = inspect.signature(cls.__init__).parameters.values()  # type: ignore[misc]
    return tuple(p.name for p in params if p.kind in _NAMED and p.name not in left_out)


@functools.lru_cache(maxsize=None)
def options_model(cls: type, skip: tuple[str, ...] = ()) -> type[BaseModel]:
    """A pydantic model of ``cls``'s constructor options (types from its annotations)."""
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    except Exception:  # unresolvable forward reference: validate names only
        hints = {}
    params = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
    fields: dict[str, Any] = {}
    for name in constructor_options(cls, skip):
        default = params[name].default
        fields[name] = (hints.get(name, Any), ... if default is inspect.Parameter.empty else default)
    config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    return create_model(f"{cls.__name__}Options", __config__=config, **fields)


def check_options(
    cls: type, options: Mapping[str, Any], where: str, skip: Iterable[str] = (), also_valid: Iterable[str] = ()
) -> dict[str, Any]:
    """``options`` checked against ``cls``'s constructor; the given keys, typed.

    Args:
        cls: the class to be constructed.
        options: keyword arguments from a config section.
        where: names the part in messages, e.g. ``"fusion 'lmf'"``.
        skip: constructor arguments the caller fills in itself (``n_modalities``, ``dim``).
        also_valid: keys the caller reads itself (e.g. ``type``), listed among the valid ones.

    Raises:
        ConfigError: an unknown option (listing the valid ones) or a value of the wrong type.
    """
    skipped = tuple(skip)
    valid = constructor_options(cls, skipped)
    model = options_model(cls, skipped)
    try:
        parsed = model.model_validate(dict(options))
    except ValidationError as exc:
        listed = (*also_valid, *valid)
        raise ConfigError(validation_message(exc, where, valid=listed, label="option")) from None
    return {key: getattr(parsed, key) for key in options}
