"""Find and read the documents a report is built from.

A folder holds ``results.json``, ``robustness.json``, ``details.json``, ``tune.json`` and/or
``explain.json`` (``omnifuse explain``) directly (one cohort), or sub-folders that each hold them
(one cohort per sub-folder, sorted by name). The evaluation documents are read through their typed readers
(:mod:`omnifuse.evaluation.documents`): a file that does not validate stops the report
with one line naming the file and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omnifuse.errors import DataError
from omnifuse.evaluation.documents import (
    DetailsDocument,
    ExplanationsDocument,
    ResultsDocument,
    RobustnessDocument,
    read_details,
    read_explanations,
    read_json,
    read_results,
    read_robustness,
)

__all__ = ["FILES", "Cohort", "load_cohorts", "read_json"]

FILES: tuple[str, ...] = ("results.json", "robustness.json", "details.json", "tune.json", "explain.json")


@dataclass(frozen=True)
class Cohort:
    """The outputs of one run: each document is None when its file is absent."""

    name: str
    slug: str
    results: ResultsDocument | None
    robustness: RobustnessDocument | None
    details: DetailsDocument | None
    tune: dict[str, Any] | None = None
    explanations: ExplanationsDocument | None = None

    @property
    def title(self) -> str:
        """``details.json``'s title, else the folder name."""
        title = self.details.title if self.details is not None else ""
        return title if title.strip() else self.name


def load_cohorts(directory: Path) -> list[Cohort]:
    """The cohorts under ``directory`` (itself when it holds the files, else its sub-folders)."""
    directory = Path(directory)
    if _has_outputs(directory):
        folders = [directory]
    elif directory.is_dir():
        folders = sorted(
            (p for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".") and _has_outputs(p)),
            key=lambda p: p.name,
        )
    else:
        folders = []
    if not folders:
        raise DataError(
            f"{directory}: no results.json, robustness.json, details.json, tune.json or explain.json to report on"
        )
    slugs: set[str] = set()
    cohorts = []
    for folder in folders:

        def present(name: str) -> Path | None:
            return folder / name if (folder / name).is_file() else None

        results, robustness, details, tune, explanations = (present(name) for name in FILES)
        name = folder.resolve().name or str(folder)
        cohorts.append(
            Cohort(
                name=name,
                slug=_unique_slug(name, slugs),
                results=read_results(results) if results else None,
                robustness=read_robustness(robustness) if robustness else None,
                details=read_details(details) if details else None,
                tune=read_json(tune) if tune else None,
                explanations=read_explanations(explanations) if explanations else None,
            )
        )
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
