"""Matplotlib helpers: figures rendered off-screen with Agg, embedded as base64 PNG.

Figures are built with :class:`matplotlib.figure.Figure` directly (never ``pyplot``), so
nothing is registered in pyplot's global figure list and the user's backend is untouched;
each figure is cleared once it has been encoded.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType  # matplotlib >= 3.9; annotations only

DPI = 96
MAX_COLS = 4

#: Qualitative colours for methods (tab10, then the lighter tab20 shades).
METHOD_COLOURS: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
)
#: Colours for classes (distinct from the method palette's first entries).
CLASS_COLOURS: tuple[str, ...] = (
    "#4477aa",
    "#ee6677",
    "#228833",
    "#ccbb44",
    "#66ccee",
    "#aa3377",
    "#bbbbbb",
    "#000000",
)
NEUTRAL = "#5b6f8a"

STYLE: dict[RcKeyType, Any] = {
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.labelsize": 8.5,
    "legend.fontsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.6,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@contextmanager
def report_style() -> Iterator[None]:
    """The report's plot style, applied only while the report renders."""
    with matplotlib.rc_context(STYLE):
        yield


class Palette:
    """One fixed colour per method name, shared by every plot of a report."""

    def __init__(self, names: Iterable[str]) -> None:
        self._colours: dict[str, str] = {}
        for name in names:
            self.colour(name)

    def colour(self, name: str) -> str:
        """The method's colour (assigned on first use, in order)."""
        if name not in self._colours:
            self._colours[name] = METHOD_COLOURS[len(self._colours) % len(METHOD_COLOURS)]
        return self._colours[name]


def class_colour(index: int) -> str:
    """Colour of the ``index``-th class."""
    return CLASS_COLOURS[index % len(CLASS_COLOURS)]


def new_figure(width: float, height: float) -> Figure:
    """An Agg-backed figure (inches) with constrained layout."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def panel_grid(
    n: int,
    panel_w: float = 3.0,
    panel_h: float = 2.4,
    max_cols: int = MAX_COLS,
    sharey: bool = False,
    extra_h: float = 0.0,
) -> tuple[Figure, list[Axes]]:
    """A figure with ``n`` axes in rows of at most ``max_cols`` (unused cells hidden)."""
    cols = max(1, min(n, max_cols))
    rows = max(1, math.ceil(n / cols))
    fig = new_figure(panel_w * cols, panel_h * rows + extra_h)
    grid = fig.subplots(rows, cols, squeeze=False, sharey=sharey)
    axes = [ax for row in grid for ax in row]
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def to_data_uri(fig: Figure) -> str:
    """Encode ``fig`` as a ``data:image/png;base64,...`` URI and release it."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI)
    finally:
        fig.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
