"""OmniFuse training traces: the lazy combination TLA mined at each epoch."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from omnifuse.evaluation.documents import MethodResult
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, new_figure, to_data_uri
from omnifuse.evaluation.report.render import Block, Plot, figures
from omnifuse.evaluation.report.values import as_dict, as_list, num, pattern_sort_key

MARKERS = "osD^v<>ph*"
CAPTION = "TLA mines the combination whose unimodal/joint prediction is worst each epoch"


def lazy_histories(method: MethodResult) -> list[list[dict[str, Any]]]:
    """Per repeat, the ``omnifuse.lazy_history`` entries (repeats without one give [])."""
    return [[as_dict(e) for e in as_list(as_dict(t.get("omnifuse")).get("lazy_history"))] for t in method.traces]


def trace_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "OmniFuse lazy-combination mining": one figure per method with TLA traces."""
    results = cohort.results
    if results is None:
        return []
    shown = []
    for name, method in results.methods.items():
        histories = lazy_histories(method)
        if any(histories):
            shown.append(_figure(name, histories, results.repeats, palette.colour(name)))
    if not shown:
        return []
    return [Block("traces", "OmniFuse lazy-combination mining (TLA)", figures(shown))]


def _combo(entry: dict[str, Any]) -> str | None:
    lazy = entry.get("lazy")
    if isinstance(lazy, list) and lazy:
        return "+".join(str(m) for m in lazy)
    return lazy if isinstance(lazy, str) and lazy else None


def _figure(name: str, histories: list[list[dict[str, Any]]], repeats: list[str], colour: str) -> Plot:
    chosen = sorted({c for h in histories for c in map(_combo, h) if c}, key=pattern_sort_key)
    first = next(h for h in histories if h)
    scored = sorted({k for e in first for k in as_dict(e.get("scores"))}, key=pattern_sort_key)
    height = max(2.6, 0.9 + 0.2 * max(len(chosen), len(scored)))
    fig = new_figure(10.0, height)
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.25])
    index = {c: i for i, c in enumerate(chosen)}
    n = len(histories)
    for r, history in enumerate(histories):
        points = [(num(e.get("epoch")), index.get(_combo(e) or "")) for e in history]
        points = [(x, y) for x, y in points if x is not None and y is not None]
        if not points:
            continue
        offset = (r - (n - 1) / 2) * min(0.08, 0.5 / max(n, 1))
        x, y = zip(*points)
        label = repeats[r] if r < len(repeats) else f"repeat {r}"
        left.plot(
            x,
            np.array(y) + offset,
            marker=MARKERS[r % len(MARKERS)],
            markersize=4,
            linewidth=0.9,
            color=colour,
            alpha=max(0.35, 1.0 - 0.12 * r),
            label=label,
        )
    left.set_yticks(range(len(chosen)), chosen)
    left.set_ylim(-0.6, len(chosen) - 0.4)
    left.set_xlabel("epoch")
    left.set_title(f"{name}: lazy combination chosen per epoch", color=colour, fontweight="bold")
    if n > 1:
        left.legend(fontsize=6.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=min(n, 4))
    _heatmap(fig, right, first, scored)
    caption = (
        f"{CAPTION}. Left: the combination chosen at each epoch, one line per repeat (slightly offset so "
        "they do not hide each other). Right: the mining score of every combination over the epochs of "
        "the first repeat (mean distance of the joint prediction from the label, higher = weaker "
        "prediction); the chosen one is ringed. A stable choice means one combination is consistently "
        "under-used by the model."
    )
    return Plot(to_data_uri(fig), f"{name} TLA traces", caption)


def _heatmap(fig: Figure, ax: Axes, history: list[dict[str, Any]], scored: list[str]) -> None:
    epochs = [num(e.get("epoch")) for e in history]
    known = [(i, e) for i, e in enumerate(epochs) if e is not None]
    cols = [i for i, _ in known]
    if not scored or not cols:
        ax.set_visible(False)
        return
    grid = np.full((len(scored), len(cols)), np.nan)
    for j, i in enumerate(cols):
        scores = as_dict(history[i].get("scores"))
        for k, combo in enumerate(scored):
            v = num(scores.get(combo))
            grid[k, j] = np.nan if v is None else v
    if np.isnan(grid).all():
        ax.set_visible(False)
        return
    image = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", cmap="magma_r", interpolation="nearest")
    ax.set_yticks(range(len(scored)), scored)
    step = max(1, len(cols) // 12)
    ax.set_xticks(range(0, len(cols), step), [f"{int(known[j][1])}" for j in range(0, len(cols), step)])
    ax.set_xlabel("epoch")
    ax.grid(False)
    row = {c: k for k, c in enumerate(scored)}
    marks = [(j, row[c]) for j, i in enumerate(cols) if (c := _combo(history[i])) in row]
    if marks:
        xs, ys = zip(*marks)
        ax.scatter(xs, ys, s=28, facecolors="none", edgecolors="#19a7ce", linewidths=1.3)
    ax.set_title("mining score per combination (first repeat)")
    fig.colorbar(image, ax=ax, shrink=0.9, label="score (higher = worse)")
