"""One registry mechanism for every kind of part: models, fusion operators, encoders,
balancing strategies and dataset formats.

A part registers itself in its own file with a class decorator::

    FUSIONS: Registry[type[FusionOperator]] = Registry("fusion", packages="omnifuse.fusion")

    @FUSIONS.register
    class ConcatFusion(FusionOperator):
        name = "concat"

A registry fills itself on first use by importing its packages and every module below them,
so adding a part is adding one file with one decorator; nothing keeps a hand-written list.
A registry can also hold parts made from another registry's parts (:meth:`Registry.derive`:
each fusion operator is also a model), recomputed whenever they are read.

Tests register throw-away parts inside :meth:`Registry.isolated`, which undoes them.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar, overload

from omnifuse.errors import ConfigError

T = TypeVar("T")
S = TypeVar("S")
P = TypeVar("P")


def import_tree(package: str, skip: tuple[str, ...] = ()) -> None:
    """Import ``package`` and every module and subpackage below it, except those in ``skip``."""
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{package}."):
        if info.name not in skip:
            importlib.import_module(info.name)


class Registry(Generic[T]):
    """Parts of one kind by name.

    Args:
        what: the kind of part, as messages name it ("fusion", "encoder type", ...).
        packages: the packages holding the parts; imported (with every module below them)
            the first time the registry is read.
        order: sort key of a part for :meth:`names` / :meth:`all` (ties: by name); default
            by name alone.
        skip: modules below ``packages`` that hold no part and are costly to import (not
            imported to fill the registry).

    Registering the same part twice under one name is a no-op (a module imported twice);
    another part under a taken name is an error.
    """

    def __init__(
        self,
        what: str,
        packages: str | tuple[str, ...] = (),
        order: Callable[[T], Any] | None = None,
        skip: tuple[str, ...] = (),
    ) -> None:
        self.what = what
        self._packages = (packages,) if isinstance(packages, str) else tuple(packages)
        self._skip = tuple(skip)
        self._order = order
        self._parts: dict[str, T] = {}
        self._derivations: list[tuple[Registry[Any], Callable[[str, Any], T]]] = []
        self._made: dict[tuple[int, str], tuple[Any, T]] = {}
        self._loaded = False

    # ------------------------------------------------------------------ registration
    @overload
    def register(self, part: P, *, name: str | None = None) -> P: ...

    @overload
    def register(self, part: None = None, *, name: str | None = None) -> Callable[[P], P]: ...

    def register(self, part: Any = None, *, name: str | None = None) -> Any:
        """Add ``part`` under ``name`` (default: its ``name`` attribute); usable as a decorator.

        ``@registry.register`` and ``@registry.register(name="x")`` both work.

        Raises:
            ValueError: no usable name, or the name is taken by another part.
        """
        if part is None:
            return lambda found: self.register(found, name=name)
        key = name if name is not None else getattr(part, "name", None)
        if not isinstance(key, str) or not key:
            raise ValueError(f"a {self.what} needs a name: pass name=... or give {part!r} a non-empty 'name'")
        held = self._parts.get(key)
        if held is not None and held != part:
            raise ValueError(f"{self.what} name '{key}' is registered twice ({held!r} and {part!r})")
        self._parts[key] = part
        return part

    def unregister(self, name: str) -> None:
        """Remove the part registered as ``name`` (nothing happens when there is none)."""
        self._parts.pop(name, None)

    def derive(self, source: Registry[S], make: Callable[[str, S], T]) -> None:
        """Also hold ``make(name, part)`` for every part of ``source``, under the same name.

        Derived parts follow ``source``: a part registered there later appears here too.
        """
        if not any(src is source and fn == make for src, fn in self._derivations):
            self._derivations.append((source, make))

    @contextmanager
    def isolated(self) -> Iterator[Registry[T]]:
        """Parts registered or removed inside the block are undone at its end (for tests)."""
        self._load()
        saved = dict(self._parts)
        try:
            yield self
        finally:
            self._parts.clear()
            self._parts.update(saved)

    # ------------------------------------------------------------------ lookup
    def get(self, name: str) -> T:
        """The part registered as ``name``.

        Raises:
            ConfigError: "unknown <what> 'x' (valid: a, b); did you mean 'y'?".
        """
        parts = self._contents()
        if isinstance(name, str) and name in parts:
            return parts[name]
        valid = self._sorted(parts)
        close = difflib.get_close_matches(str(name), valid, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"unknown {self.what} '{name}' (valid: {', '.join(valid)}){hint}")

    def names(self) -> list[str]:
        """Every registered name, in the registry's order."""
        return self._sorted(self._contents())

    def all(self) -> list[T]:
        """Every registered part, in the registry's order."""
        parts = self._contents()
        return [parts[name] for name in self._sorted(parts)]

    def items(self) -> list[tuple[str, T]]:
        """``(name, part)`` pairs, in the registry's order."""
        parts = self._contents()
        return [(name, parts[name]) for name in self._sorted(parts)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._contents()

    def view(self) -> Mapping[str, T]:
        """A read-only mapping name -> part that always reflects the registry."""
        return _View(self)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, packages={self._packages!r})"

    # ------------------------------------------------------------------ internals
    def _load(self) -> None:
        # Not marked loaded until every module is imported: a lookup made while one of them
        # is being imported walks the packages again (finished modules are not re-run).
        if not self._loaded:
            for package in self._packages:
                import_tree(package, self._skip)
            self._loaded = True

    def _contents(self) -> dict[str, T]:
        self._load()
        parts = dict(self._parts)
        made: dict[tuple[int, str], tuple[Any, T]] = {}
        for index, (source, make) in enumerate(self._derivations):
            for name, part in source.items():
                cached = self._made.get((index, name))
                entry = cached[1] if cached is not None and cached[0] is part else make(name, part)
                made[(index, name)] = (part, entry)
                if name in parts and parts[name] is not entry:
                    raise ValueError(
                        f"{self.what} name '{name}' is registered twice "
                        f"({parts[name]!r} and one made from {source.what} '{name}')"
                    )
                parts[name] = entry
        self._made = made
        return parts

    def _sorted(self, parts: Mapping[str, T]) -> list[str]:
        if self._order is None:
            return sorted(parts)
        order = self._order
        return sorted(parts, key=lambda name: (order(parts[name]), name))


class _View(Mapping[str, T]):
    """Read-only ``Mapping`` face of a :class:`Registry`."""

    def __init__(self, registry: Registry[T]) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> T:
        if name not in self._registry:
            raise KeyError(name)
        return self._registry.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry.names())

    def __repr__(self) -> str:
        return f"<{self._registry.what} registry: {', '.join(self._registry.names())}>"
