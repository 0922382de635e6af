"""One way to turn a pydantic ``ValidationError`` into the one-line message users see.

Every omnifuse message names where the problem is (file, config section) and which field;
:func:`validation_message` is the only place that formats pydantic's errors for that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pydantic import ValidationError


def dotted_location(loc: Sequence[object]) -> str:
    """``("model", "rank")`` as ``model.rank``."""
    return ".".join(str(part) for part in loc)


def error_location(exc: ValidationError, prefix: str = "", locate: Callable[[tuple], str] = dotted_location) -> str:
    """The location of the first problem (``"(top level)"`` when it has none)."""
    loc = locate(tuple(exc.errors()[0]["loc"]))
    if prefix:
        return f"{prefix}.{loc}" if loc else prefix
    return loc or "(top level)"


def validation_message(
    exc: ValidationError,
    source: str,
    *,
    prefix: str = "",
    valid: Iterable[str] | None = None,
    label: str = "field",
    count_more: bool = False,
    locate: Callable[[tuple], str] = dotted_location,
) -> str:
    """``"{source}: {label} '{where}': {problem}"`` for the first problem of ``exc``.

    Args:
        exc: the pydantic error.
        source: what was being read (a file path, ``"--set"``, a model name).
        prefix: dotted section the validated mapping sits under (``"model"``, ``"select.omics"``).
        valid: the accepted keys; given, an unknown key reads ``unknown {label} 'x' (valid: ...)``.
        label: what a key is called in this context (``"field"``, ``"key"``, ``"option"``).
        count_more: append ``(and N more problems)`` when pydantic found several.
        locate: formats a pydantic location (default: dotted).
    """
    err = exc.errors()[0]
    where = error_location(exc, prefix, locate)
    more = f" (and {exc.error_count() - 1} more problems)" if count_more and exc.error_count() > 1 else ""
    if err["type"] == "extra_forbidden" and valid is not None:
        names = ", ".join(valid) or "none"
        return f"{source}: unknown {label} '{where}' (valid: {names}){more}"
    return f"{source}: {label} '{where}': {err['msg']}{more}"
