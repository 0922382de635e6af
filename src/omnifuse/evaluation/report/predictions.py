"""Prediction quality plots from ``details.json``: confusion matrices and calibration."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from omnifuse.evaluation.documents import ConfusionMatrix
from omnifuse.evaluation.report.render import Block, figure
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, new_figure, panel_grid, to_data_uri

Matrix = tuple[str, str, np.ndarray, list[str]]  # method, title, counts (NaN = undefined), tick labels


def confusion_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Confusion matrices": one panel per method (per method and class when multilabel)."""
    details = cohort.details
    if details is None:
        return []
    panels: list[Matrix] = []
    for name, entry in details.methods.items():
        panels += _matrices(name, entry.confusion_matrix, details.classes)
    if not panels:
        return []
    size = max(len(p[3]) for p in panels)
    side = min(4.2, 1.6 + 0.35 * size)
    fig, axes = panel_grid(len(panels), panel_w=side + 0.3, panel_h=side)
    for ax, (method, title, counts, ticks) in zip(axes, panels):
        _draw_matrix(ax, title, counts, ticks, palette.colour(method))
    caption = (
        "Rows: true class; columns: predicted class. Numbers are counts of samples; the colour is the "
        "share of the row (so each true class is read on its own scale). A strong diagonal means few "
        "mistakes; off-diagonal cells show which classes are confused."
    )
    if any(p[0] != p[1] for p in panels):
        caption += " Multilabel tasks have one 2×2 matrix per label (absent/present)."
    return [Block("confusion", "Confusion matrices", figure(to_data_uri(fig), "confusion matrices", caption))]


def calibration_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Calibration": one reliability diagram with every method and the diagonal."""
    details = cohort.details
    if details is None:
        return []
    curves = {}
    for name, method in details.methods.items():
        cal = method.calibration
        points = [
            (c, a)
            for c, a, k in zip(cal.confidence, cal.accuracy, cal.count)
            if c is not None and a is not None and k > 0
        ]
        if points:
            curves[name] = points
    if not curves:
        return []
    fig = new_figure(4.6, 4.1)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#888888", linestyle=":", linewidth=1, label="perfect calibration")
    for name, points in curves.items():
        x, y = zip(*points)
        ax.plot(x, y, marker="o", markersize=3.5, linewidth=1.3, color=palette.colour(name), label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted probability (bin mean)")
    ax.set_ylabel("observed frequency")
    ax.legend(loc="upper left", frameon=False)
    caption = (
        "Reliability diagram: predictions are grouped into bins by their confidence; each point is a "
        "bin's mean predicted probability against how often the prediction was right (binary: the "
        "positive class occurred). Points on the diagonal are well calibrated; below it the method is "
        "over-confident, above it under-confident. Empty bins are not drawn."
    )
    return [Block("calibration", "Calibration", figure(to_data_uri(fig), "reliability diagram", caption))]


def _matrices(name: str, matrix: ConfusionMatrix, classes: list[str]) -> list[Matrix]:
    try:
        counts = np.asarray(matrix, dtype=float)
    except ValueError:  # ragged rows
        return []
    if counts.ndim == 3 and counts.shape[1:] == (2, 2):  # multilabel: one matrix per label
        return [
            (name, f"{name} · {classes[i] if i < len(classes) else i}", cm, ["absent", "present"])
            for i, cm in enumerate(counts)
        ]
    if counts.ndim != 2 or counts.shape[0] == 0 or counts.shape[0] != counts.shape[1]:
        return []
    n = counts.shape[0]
    ticks = classes if len(classes) == n else [str(i) for i in range(n)]
    return [(name, name, counts, ticks)]


def _draw_matrix(ax: Axes, title: str, counts: np.ndarray, ticks: list[str], colour: str) -> None:
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / np.nansum(counts, axis=1, keepdims=True)
    ax.imshow(np.ma.masked_invalid(share), cmap="Blues", vmin=0, vmax=1)
    n = counts.shape[0]
    small = n > 6
    for i in range(n):
        for j in range(n):
            c = counts[i, j]
            text = "–" if np.isnan(c) else f"{int(c):,}"
            dark = not np.isnan(share[i, j]) and share[i, j] > 0.55
            ax.text(
                j, i, text, ha="center", va="center", fontsize=6 if small else 8, color="white" if dark else "#1d2733"
            )
    ax.set_xticks(range(n), ticks, rotation=45 if n > 3 else 0, ha="right" if n > 3 else "center")
    ax.set_yticks(range(n), ticks)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.grid(False)
    ax.set_title(title, color=colour, fontweight="bold")
    for side in ax.spines.values():
        side.set_visible(False)
