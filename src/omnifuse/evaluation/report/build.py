"""Assemble the report: one section per cohort, a table of contents, one HTML file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

import omnifuse
from omnifuse.evaluation.report.benchmark_table import benchmark_blocks
from omnifuse.evaluation.report.dataset import dataset_blocks
from omnifuse.evaluation.report.explanations import explanation_blocks
from omnifuse.evaluation.report.load import Cohort, load_cohorts
from omnifuse.evaluation.report.plots import Palette, report_style
from omnifuse.evaluation.report.predictions import calibration_blocks, confusion_blocks
from omnifuse.evaluation.report.render import Block, render
from omnifuse.evaluation.report.representations import tsne_blocks, weight_blocks
from omnifuse.evaluation.report.robustness_plots import conformal_blocks, pattern_blocks, robustness_curve_blocks
from omnifuse.evaluation.report.robustness_table import robustness_table_blocks
from omnifuse.evaluation.report.staging import hypnogram_blocks, per_class_blocks
from omnifuse.evaluation.report.subgroups import subgroup_blocks
from omnifuse.evaluation.report.survival import survival_blocks
from omnifuse.evaluation.report.traces import trace_blocks
from omnifuse.evaluation.report.tuning import tuning_blocks
from omnifuse.utils.atomic import atomic_file

DEFAULT_TITLE = "omnifuse report"
REPORT_NAME = "report.html"


@dataclass(frozen=True)
class _Part:
    """A block as the page shows it: its anchor in the table of contents, heading and body."""

    anchor: str
    heading: str
    body: Markup


@dataclass(frozen=True)
class _Section:
    """One cohort's section of the page."""

    title: str
    slug: str
    blocks: list[_Part]


#: Section renderers, in the order their blocks appear in each cohort.
RENDERERS: tuple[Callable[[Cohort, Palette], list[Block]], ...] = (
    dataset_blocks,
    benchmark_blocks,
    subgroup_blocks,
    tuning_blocks,
    robustness_table_blocks,
    robustness_curve_blocks,
    pattern_blocks,
    conformal_blocks,
    confusion_blocks,
    per_class_blocks,
    hypnogram_blocks,
    calibration_blocks,
    survival_blocks,
    trace_blocks,
    weight_blocks,
    explanation_blocks,
    tsne_blocks,
)


def build_report(directory: Path, title: str | None = None) -> Path:
    """Write ``directory/report.html`` from the JSON outputs found in ``directory``.

    ``directory`` holds ``results.json``, ``robustness.json``, ``details.json``, ``tune.json`` and/or
    ``explain.json``, or
    sub-folders that do (one section each). Returns the path of the report; raises
    :class:`omnifuse.errors.DataError` when there is nothing to report or a file is not a
    valid document (one line naming the file and the field).
    """
    directory = Path(directory)
    cohorts = load_cohorts(directory)
    palette = Palette(_method_names(cohorts))
    title = title or DEFAULT_TITLE
    with report_style():
        sections = [(cohort, [b for renderer in RENDERERS for b in renderer(cohort, palette)]) for cohort in cohorts]
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    subtitle = f"Generated {stamp} by omnifuse {omnifuse.__version__} from {directory.resolve().name or directory}"
    document = render(
        "report.html.j2",
        title=title,
        subtitle=subtitle,
        cohorts=[
            _Section(c.title, c.slug, [_Part(_anchor(c, b), b.heading, b.body) for b in blocks])
            for c, blocks in sections
        ],
    )
    target = directory / REPORT_NAME
    with atomic_file(target, "wb") as handle:
        handle.write(document.encode("utf-8"))
    return target


def _method_names(cohorts: list[Cohort]) -> list[str]:
    """Every method name, in order of first appearance, so colours match across cohorts."""
    names: list[str] = []
    for cohort in cohorts:
        for doc in (cohort.results, cohort.robustness, cohort.details):
            names += [n for n in (doc.methods if doc is not None else {}) if n not in names]
        if cohort.explanations is not None and cohort.explanations.model not in names:
            names.append(cohort.explanations.model)
    return names


def _anchor(cohort: Cohort, block: Block) -> str:
    return f"{cohort.slug}-{block.key}"
