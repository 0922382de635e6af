"""Malformed lines of PhysioNet 2012 stay files: find them, count them, report them once.

Real exports contain lines a parser cannot use (``06:32,,2.7``: no parameter name; a time
that is not ``HH:MM``; a value that is not a number; a parameter the challenge does not
define). One such line must not refuse a whole cohort: by default the loader skips it (the
value stays unobserved), counts it by kind in ``info["skipped_lines"]`` and issues one
summary warning naming the first places. ``strict=True`` refuses the first one instead, with
a message naming its file and line.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from omnifuse.data.loaders.physionet import _Stays

#: Kinds of skipped lines, in the order the summary lists them.
KINDS: tuple[str, ...] = ("empty name", "unknown name", "unparsable time", "non-numeric value", "wrong field count")
#: Places named in the summary warning and kept in ``info["skipped_lines"]["first"]``.
SHOWN = 5
_TIME = re.compile(r"^\d{1,5}:[0-5]\d$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class Problem(NamedTuple):
    """One unusable line: its file (index into the stays), 1-based line, kind and message."""

    file: int
    line: int
    kind: str
    message: str  # "line N: ..." (the file name is prefixed when reported)


def check_line(line: str) -> tuple[str, str] | None:
    """``(kind, description)`` of what is wrong with one data line, or None when it parses."""
    fields = [x.strip() for x in line.split(",")]
    if len(fields) != 3:
        return "wrong field count", f"expected 3 fields Time,Parameter,Value, got {len(fields)}: '{line[:80]}'"
    if not _TIME.match(fields[0]):
        return "unparsable time", f"bad time '{fields[0][:20]}' (expected HH:MM)"
    if not fields[1] or ":" in fields[1]:
        return ("empty name" if not fields[1] else "unknown name"), f"bad parameter name '{fields[1][:40]}'"
    if not _NUMBER.match(fields[2]) or not math.isfinite(float(fields[2])):
        return "non-numeric value", f"parameter '{fields[1]}': non-numeric value '{fields[2][:40]}'"
    return None


def drop_bad_lines(stays: _Stays) -> list[Problem]:
    """Remove the unparsable lines from the stay bodies (line numbers kept); return them."""
    problems: list[Problem] = []
    for f, body in enumerate(stays.bodies):
        lines = body.split(b"\n")[:-1]
        bad = []
        for k, raw in enumerate(lines):
            found = check_line(raw.decode("utf-8", "replace"))
            if found:
                bad.append(k)
                problems.append(Problem(f, stays.line(f, k), found[0], f"line {stays.line(f, k)}: {found[1]}"))
        if bad:
            skip = set(bad)
            kept = [k for k in range(len(lines)) if k not in skip]
            stays.line_maps[f] = np.asarray([stays.line(f, k) for k in kept], dtype=np.int64)
            stays.bodies[f] = b"".join(lines[k] + b"\n" for k in kept)
    return problems


def summarise(places: list[Problem], counts: dict[str, int], names: list[str], root: object) -> dict[str, Any]:
    """``info["skipped_lines"]``: total, count per kind, the first places and the first message.

    ``places`` holds at least the first :data:`SHOWN` problems of each kind (in file order);
    they are named ``file:line`` with the file relative to ``root``.
    """
    ordered = sorted(places, key=lambda p: (p.file, p.line))[:SHOWN]
    first = ordered[0] if ordered else None
    return {
        "total": int(sum(counts.values())),
        "kinds": {kind: int(counts[kind]) for kind in KINDS if counts.get(kind)},
        "first": [f"{names[p.file].removeprefix(f'{root}/')}:{p.line}" for p in ordered],
        "first_error": f"{names[first.file]}: {first.message}" if first else None,
    }


def warning_text(root: object, skipped: dict[str, Any], unknown: dict[str, int]) -> str:
    """The one summary warning of a load that skipped lines (``unknown``: counts per name)."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in skipped["kinds"].items())
    if unknown:
        shown = sorted(unknown.items(), key=lambda item: (-item[1], item[0]))[:SHOWN]
        kinds += "; unknown parameters " + ", ".join(f"'{name}' {n}" for name, n in shown)
        kinds += ", ..." if len(unknown) > SHOWN else ""
    more = ", ..." if skipped["total"] > len(skipped["first"]) else ""
    return (
        f"{root}: {skipped['total']} unusable line(s) skipped, their values left unobserved ({kinds}); "
        f"first at {', '.join(skipped['first'])}{more} (strict loading, --strict, refuses them)"
    )
