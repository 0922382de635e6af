"""The dataset summary: facts, modality table, label balance and availability patterns."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap

from omnifuse.evaluation.documents import DatasetSummary, DetailsDocument, ModalitySummary
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import NEUTRAL, Palette, new_figure, to_data_uri
from omnifuse.evaluation.report.render import Block, Plot, figures, render
from omnifuse.evaluation.report.values import MISSING, fmt_int

MAX_PATTERN_ROWS = 32


def dataset_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """The "Dataset" block (empty list when no file describes the data)."""
    details = cohort.details
    data = details.dataset if details is not None else None
    items = _facts(cohort)
    truth = details.truth if details is not None and details.truth else {}
    lazy, settings = _truth(truth)
    modalities = _modality_rows(data.modalities) if data is not None else []
    shown = [f for f in (_label_figure(data), _availability_figure(data, details)) if f] if data else []
    if not (items or lazy or settings or modalities or shown):
        return []
    body = render(
        "dataset.html.j2",
        items=items,
        lazy=lazy,
        settings=settings,
        modalities=modalities,
        figures=figures(shown, row=True) if shown else "",
    )
    return [Block("dataset", "Dataset", body)]


def _facts(cohort: Cohort) -> list[tuple[str, object]]:
    details, results, robustness = cohort.details, cohort.results, cohort.robustness
    data = details.dataset if details is not None else None
    items: list[tuple[str, object]] = []
    source = results.dataset if results is not None else robustness.dataset if robustness is not None else None
    if source:
        items.append(("Data", source))
    task = next((d.task for d in (data, details, results, robustness) if d is not None), None)
    if task:
        items.append(("Task", task))
    classes = (details.classes if details is not None else []) or (results.classes if results is not None else [])
    if classes:
        items.append(("Classes", ", ".join(classes)))
    n = data.n_samples if data is not None else results.n_samples if results is not None else None
    if n is not None:
        groups = data.n_groups if data is not None else None
        suffix = f" ({fmt_int(groups)} patients/groups)" if groups is not None and groups != n else ""
        items.append(("Samples", fmt_int(n) + suffix))
    modalities = next(
        (
            list(m)
            for m in (
                data.modalities if data is not None else None,
                details.modalities if details is not None else None,
                results.modalities if results is not None else None,
                robustness.modalities if robustness is not None else None,
            )
            if m
        ),
        [],
    )
    if modalities:
        items.append(("Modalities", ", ".join(modalities)))
    if data is not None and data.splits:
        items.append(("Splits", ", ".join(f"{k}: {fmt_int(v)}" for k, v in data.splits.items())))
    if details is not None:
        items.append(("Plots below evaluated on", details.evaluated_on))
    return items


def _truth(truth: dict[str, Any]) -> tuple[str, str]:
    """The lazy combination of simulated data (or ""), and a sentence on the other settings (or "")."""
    lazy = truth.get("lazy_combination")
    name = ("+".join(str(m) for m in lazy) if isinstance(lazy, list) else str(lazy)) if lazy else ""
    others = [f"{k} = {_short(v)}" for k, v in truth.items() if k != "lazy_combination"]
    return name, ("Other simulation settings: " + "; ".join(others) + ".") if others else ""


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _modality_rows(mods: dict[str, ModalitySummary]) -> list[list[str]]:
    rows = []
    for name, spec in mods.items():
        total = spec.n_present + spec.n_absent
        share = f"{100 * spec.n_absent / total:.1f}%" if total > 0 else MISSING
        rows.append(
            [
                name,
                spec.kind or MISSING,
                fmt_int(spec.n_features),
                fmt_int(spec.n_present),
                fmt_int(spec.n_absent),
                share,
            ]
        )
    return rows


def _label_figure(data: DatasetSummary) -> Plot | None:
    labels = data.labels
    if not labels:
        return None
    names = list(labels)
    counts = np.array([labels[k] for k in names], dtype=float)
    total = data.n_samples or float(counts.sum()) or 1.0
    fig = new_figure(4.2, 0.6 + 0.32 * len(names))
    ax = fig.subplots()
    y = np.arange(len(names))
    ax.barh(y, counts, color=NEUTRAL)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel("samples")
    ax.grid(axis="y", visible=False)
    for i, c in enumerate(counts):
        ax.text(c, i, f" {int(c):,} ({100 * c / total:.0f}%)", va="center", fontsize=7.5)
    ax.set_xlim(0, counts.max() * 1.35 if counts.max() > 0 else 1)
    caption = "Label balance: samples per class" + (
        " (a sample may carry several labels)." if data.task == "multilabel" else "."
    )
    return Plot(to_data_uri(fig), "label balance", caption)


def _availability_figure(data: DatasetSummary, details: DetailsDocument | None) -> Plot | None:
    patterns = data.patterns
    if not patterns:
        return None
    modalities = list(data.modalities) or (details.modalities if details is not None else [])
    if not modalities:
        modalities = sorted({m for p in patterns for m in p.split("+") if m})
    order = sorted(patterns, key=lambda p: (-patterns[p], p))
    shown = order[:MAX_PATTERN_ROWS]
    total = sum(patterns.values()) or 1.0
    cells = np.array([[m in p.split("+") for m in modalities] for p in shown], dtype=float)
    fig = new_figure(1.9 + 0.55 * len(modalities), 0.9 + 0.24 * len(shown))
    ax = fig.subplots()
    ax.imshow(cells, aspect="auto", cmap=ListedColormap(["#eef1f5", "#1f5f99"]), vmin=0, vmax=1)
    ax.set_xticks(range(len(modalities)), modalities, rotation=30, ha="left")
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.set_xticks(np.arange(-0.5, len(modalities)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(shown)), minor=True)
    ax.grid(False)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    right = ax.twinx()
    right.set_ylim(ax.get_ylim())
    right.set_yticks(range(len(shown)), [f"{int(patterns[p]):,} ({100 * patterns[p] / total:.1f}%)" for p in shown])
    right.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
        right.spines[side].set_visible(False)
    right.tick_params(length=0)
    hidden = len(order) - len(shown)
    caption = (
        "Availability patterns: each row is a combination of modalities that patients have "
        "(filled = present), most frequent first, with the number (and share) of samples at the row end."
    )
    if hidden > 0:
        caption += f" {hidden} rarer patterns are not shown."
    return Plot(to_data_uri(fig), "availability patterns", caption)
