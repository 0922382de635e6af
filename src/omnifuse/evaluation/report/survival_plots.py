"""Matplotlib figures of the survival blocks (see :mod:`omnifuse.evaluation.report.survival`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from omnifuse.evaluation.report.plots import Palette, new_figure, panel_grid

if TYPE_CHECKING:  # annotations only: omnifuse.evaluation.report.survival imports the figures from here
    from omnifuse.evaluation.report.survival import CalibrationPoint, GroupCurves, KaplanMeier

#: Colours of the risk groups, lowest risk first (2 or 3 groups).
GROUP_COLOURS: dict[int, tuple[str, ...]] = {2: ("#4477aa", "#cc3311"), 3: ("#4477aa", "#ccbb44", "#cc3311")}


def km_figure(curves: dict[str, GroupCurves], palette: Palette, unit: str) -> Figure:
    """One panel per method: the Kaplan-Meier curve of each risk group."""
    fig, axes = panel_grid(len(curves), panel_w=3.1, panel_h=2.5, sharey=True, extra_h=0.3)
    for ax, (name, groups) in zip(axes, curves.items()):
        colours = GROUP_COLOURS[len(groups.names)]
        for label, km, (n, events), colour in zip(groups.names, groups.curves, groups.counts, colours):
            if km is not None:
                _step(ax, km, colour, f"{label} (n={n}, e={events})")
        p = groups.pvalue
        shown = "p –" if p is None else ("p < 0.001" if p < 0.001 else f"p = {p:.3f}")
        ax.set_title(f"{name} · log-rank {shown}", color=palette.colour(name), fontweight="bold")
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.set_xlabel(unit, fontsize=7.5)
        ax.legend(loc="best", frameon=False, fontsize=7)
    axes[0].set_ylabel("survival probability")
    return fig


def _step(ax: Axes, km: KaplanMeier, colour: str, label: str) -> None:
    t = np.concatenate([[0.0], km.time])
    s = np.concatenate([[1.0], km.survival])
    ax.step(t, s, where="post", color=colour, linewidth=1.4, label=label)
    if km.low is not None and km.high is not None:
        low = np.concatenate([[1.0], np.nan_to_num(km.low, nan=0.0)])
        high = np.concatenate([[1.0], np.nan_to_num(km.high, nan=1.0)])
        ax.fill_between(t, low, high, step="post", color=colour, alpha=0.12, linewidth=0)


def calibration_figure(points: dict[str, list[CalibrationPoint]], palette: Palette) -> Figure:
    """Predicted vs Kaplan-Meier survival: each method's groups, per repeat and averaged."""
    fig = new_figure(4.6, 4.1)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#888888", linestyle=":", linewidth=1, label="perfect calibration")
    for name, items in points.items():
        colour = palette.colour(name)
        ax.scatter(
            [p.predicted for p in items], [p.observed for p in items], s=9, color=colour, alpha=0.35, linewidths=0
        )
        groups = sorted({p.group for p in items})
        mean_x = [float(np.mean([p.predicted for p in items if p.group == g])) for g in groups]
        mean_y = [float(np.mean([p.observed for p in items if p.group == g])) for g in groups]
        ax.plot(mean_x, mean_y, marker="o", markersize=4, linewidth=1.3, color=colour, label=name)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("predicted survival at the horizon (group mean)")
    ax.set_ylabel("observed survival (Kaplan-Meier)")
    ax.legend(loc="upper left", frameon=False)
    return fig
