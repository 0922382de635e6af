"""``robustness.json``: metrics of every method under every test-time corruption, and the
relative and effective robustness summaries (see :mod:`omnifuse.evaluation.robustness`).

A method trained with conformal prediction sets (``--set conformal=0.9``) has its target
coverage in ``conformal`` and two more metrics in every cell: ``coverage`` (share of test
samples whose true class is in their set) and ``set_size`` (mean classes per set), each
sample judged by the threshold of the availability pattern it has after the corruption.

Curves are keyed by level as written by :func:`omnifuse.evaluation.conditions.level_key`
(``"0.0"``, ``"0.5"``, ...); level ``"0.0"`` of every curve is the clean test set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from omnifuse.tasks import TaskName
from omnifuse.evaluation.documents.base import Document, MetricCell, Strict, Value, read_document
from omnifuse.evaluation.documents.results import Protocol

#: Level key -> metrics under that level.
Curve = dict[str, MetricCell]


class RobustnessSummary(Strict):
    """Area under each metric-versus-level curve over its level range, and their mean."""

    missing: dict[str, dict[str, Value]] = Field(default_factory=dict, description="target -> metric -> area")
    noise: dict[str, dict[str, dict[str, Value]]] = Field(
        default_factory=dict, description="modality -> kind -> metric -> area"
    )
    overall: dict[str, Value] = Field(default_factory=dict, description="metric -> mean over every curve")


class EffectiveRobustness(RobustnessSummary):
    """The same areas of the method's drop from its clean score minus the baseline's drop
    (positive: degrades more slowly than the baseline)."""

    baseline: str


class MethodRobustness(Strict):
    """One method under every condition of the sweep."""

    clean: MetricCell
    missing: dict[str, Curve] = Field(description="modality (or 'any') -> missing rate -> metrics")
    patterns: dict[str, MetricCell] = Field(description="availability pattern ('a+b') -> metrics")
    noise: dict[str, dict[str, Curve]] = Field(description="modality -> noise kind -> level -> metrics")
    relative_robustness: RobustnessSummary
    effective_robustness: EffectiveRobustness | None = Field(
        default=None, description="None without a baseline among the swept methods."
    )
    conformal: float | None = Field(
        default=None,
        description="Target coverage of the method's conformal sets; its cells then hold 'coverage' and "
        "'set_size' too (None: the method has no sets).",
    )


class Levels(Strict):
    """The levels swept (each starting at 0, the clean test set)."""

    missing: list[float]
    noise: dict[str, list[float]] = Field(description="noise kind -> levels")


class RobustnessDocument(Document):
    """The ``robustness.json`` document."""

    NAME = "robustness"
    schema_version: Literal[1] = 1
    dataset: str
    task: TaskName
    modalities: list[str]
    draws: int = Field(description="Draws of each random condition (averaged).")
    repeats: int = Field(description="Repeats (folds x seeds, or trained runs' one test set) swept.")
    interval: str = Field(description="How the intervals were computed.")
    baseline: str | None = Field(description="Reference of effective robustness (None: no baseline was swept).")
    levels: Levels
    pattern_counts: dict[str, int] = Field(description="Test samples scored per availability pattern, per repeat.")
    protocol: Protocol | None = Field(default=None, description="How the swept models were trained.")
    truth: dict[str, Any] | None = Field(default=None, description="Ground truth of simulated data.")
    methods: dict[str, MethodRobustness]


def read_robustness(path: Path) -> RobustnessDocument:
    """``robustness.json`` at ``path``, validated; a one-line DataError names the file and field."""
    return read_document(path, RobustnessDocument)
