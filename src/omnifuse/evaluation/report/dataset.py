"""The dataset summary: facts, modality table, label balance and availability patterns."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from matplotlib.colors import ListedColormap

from omnifuse.evaluation.report.html import Block, Html, esc, facts, figure, join, paragraph, table, tag
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import NEUTRAL, Palette, new_figure, to_data_uri
from omnifuse.evaluation.report.values import MISSING, as_dict, as_list, fmt_int, num

MAX_PATTERN_ROWS = 32


def dataset_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """The "Dataset" block (empty list when no file describes the data)."""
    details = cohort.details or {}
    results = cohort.results or {}
    data = as_dict(details.get("dataset"))
    parts: list[Html] = [facts(_facts(details, data, results, cohort.robustness or {}))]
    truth = as_dict(details.get("truth"))
    if truth:
        parts.append(_truth(truth))
    mods = as_dict(data.get("modalities"))
    if mods:
        parts.append(_modality_table(mods))
    figures = [f for f in (_label_figure(data), _availability_figure(data, details)) if f]
    if figures:
        parts.append(tag("div", join(figures), class_="row"))
    body = join(p for p in parts if p)
    return [Block("dataset", "Dataset", body)] if body else []


def _facts(details: dict[str, Any], data: dict[str, Any], results: dict[str, Any],
           robustness: dict[str, Any]) -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    source = results.get("dataset") or robustness.get("dataset")
    if isinstance(source, str):
        items.append(("Data", source))
    task = data.get("task") or details.get("task") or results.get("task") or robustness.get("task")
    if isinstance(task, str):
        items.append(("Task", task))
    classes = as_list(details.get("classes")) or as_list(results.get("classes"))
    if classes:
        items.append(("Classes", ", ".join(str(c) for c in classes)))
    n = num(data.get("n_samples")) if data else num(results.get("n_samples"))
    if n is not None:
        groups = num(data.get("n_groups"))
        suffix = f" ({fmt_int(groups)} patients/groups)" if groups is not None and groups != n else ""
        items.append(("Samples", fmt_int(n) + suffix))
    modalities = list(as_dict(data.get("modalities"))) or as_list(details.get("modalities")) \
        or as_list(results.get("modalities")) or as_list(robustness.get("modalities"))
    if modalities:
        items.append(("Modalities", ", ".join(str(m) for m in modalities)))
    splits = as_dict(data.get("splits"))
    if splits:
        items.append(("Splits", ", ".join(f"{k}: {fmt_int(v)}" for k, v in splits.items())))
    evaluated = details.get("evaluated_on")
    if isinstance(evaluated, str):
        items.append(("Plots below evaluated on", evaluated))
    return items


def _truth(truth: dict[str, Any]) -> Html:
    lazy = truth.get("lazy_combination")
    parts: list[Html] = []
    if lazy:
        name = "+".join(str(m) for m in lazy) if isinstance(lazy, list) else str(lazy)
        parts.append(paragraph(Html(f"Ground truth (simulated data): the lazy modality combination is "
                                    f"<strong>{esc(name)}</strong>; OmniFuse's mining (below) should pick it "
                                    f"out."), class_="truth"))
    others = [f"{k} = {_short(v)}" for k, v in truth.items() if k != "lazy_combination"]
    if others:
        parts.append(paragraph("Other simulation settings: " + "; ".join(others) + "."))
    return join(parts)


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _modality_table(mods: dict[str, Any]) -> Html:
    rows = []
    for name, spec in mods.items():
        spec = as_dict(spec)
        present, absent = num(spec.get("n_present")), num(spec.get("n_absent"))
        total = (present or 0) + (absent or 0)
        share = f"{100 * absent / total:.1f}%" if absent is not None and total > 0 else MISSING
        rows.append([name, spec.get("kind") or MISSING, fmt_int(spec.get("n_features")), fmt_int(present),
                     fmt_int(absent), share])
    return table(["Modality", "Kind", "Features", "Present", "Absent", "Absent %"], rows, numeric_from=2)


def _label_figure(data: dict[str, Any]) -> Html | None:
    labels = {str(k): num(v) for k, v in as_dict(data.get("labels")).items() if num(v) is not None}
    if not labels:
        return None
    names = list(labels)
    counts = np.array([labels[k] for k in names])
    total = num(data.get("n_samples")) or float(counts.sum()) or 1.0
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
        " (a sample may carry several labels)." if data.get("task") == "multilabel" else ".")
    return figure(to_data_uri(fig), "label balance", caption)


def _availability_figure(data: dict[str, Any], details: dict[str, Any]) -> Html | None:
    patterns = {str(k): num(v) for k, v in as_dict(data.get("patterns")).items() if num(v) is not None}
    if not patterns:
        return None
    modalities = [str(m) for m in (list(as_dict(data.get("modalities"))) or as_list(details.get("modalities")))]
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
    right.set_yticks(range(len(shown)), [f"{int(patterns[p]):,} ({100 * patterns[p] / total:.1f}%)"
                                         for p in shown])
    right.grid(False)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
        right.spines[side].set_visible(False)
    right.tick_params(length=0)
    hidden = len(order) - len(shown)
    caption = ("Availability patterns: each row is a combination of modalities that patients have "
               "(filled = present), most frequent first, with the number (and share) of samples at the row end.")
    if hidden > 0:
        caption += f" {hidden} rarer patterns are not shown."
    return figure(to_data_uri(fig), "availability patterns", caption)
