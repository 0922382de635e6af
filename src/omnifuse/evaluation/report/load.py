"""Find and read the JSON outputs a report is built from.

A folder holds ``results.json``, ``robustness.json``, ``details.json`` and/or ``tune.json`` directly (one
cohort), or sub-folders that each hold them (one cohort per sub-folder, sorted by name).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnifuse.errors import DataError

FILES: tuple[str, ...] = ("results.json", "robustness.json", "details.json", "tune.json")


@dataclass(frozen=True)
class Cohort:
    """The outputs of one run: each document is None when its file is absent."""

    name: str
    slug: str
    results: dict[str, Any] | None
    robustness: dict[str, Any] | None
    details: dict[str, Any] | None
    tune: dict[str, Any] | None = None

    @property
    def title(self) -> str:
        """``details.json``'s title, else the folder name."""
        title = (self.details or {}).get("title")
        return title if isinstance(title, str) and title.strip() else self.name


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object with NaN and infinities replaced by None; DataError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: malformed JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except RecursionError:
        raise DataError(f"{path}: malformed JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object at the top level, got {type(doc).__name__}")
    return _finite(doc)


def load_cohorts(directory: Path) -> list[Cohort]:
    """The cohorts under ``directory`` (itself when it holds the files, else its sub-folders)."""
    directory = Path(directory)
    if _has_outputs(directory):
        folders = [directory]
    elif directory.is_dir():
        folders = sorted((p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")
                          and _has_outputs(p)), key=lambda p: p.name)
    else:
        folders = []
    if not folders:
        raise DataError(f"{directory}: no results.json, robustness.json, details.json or tune.json to report on")
    slugs: set[str] = set()
    cohorts = []
    for folder in folders:
        docs = {name: read_json(folder / name) if (folder / name).is_file() else None for name in FILES}
        name = folder.resolve().name or str(folder)
        cohorts.append(Cohort(name=name, slug=_unique_slug(name, slugs), results=docs["results.json"],
                              robustness=docs["robustness.json"], details=docs["details.json"],
                              tune=docs["tune.json"]))
    return cohorts


def _has_outputs(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).is_file() for name in FILES)


def _unique_slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "cohort"
    slug, i = base, 1
    while slug in taken:
        i += 1
        slug = f"{base}-{i}"
    taken.add(slug)
    return slug


def _finite(value: Any) -> Any:
    """Recursively replace non-finite floats (JSON ``NaN``/``Infinity``) by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
