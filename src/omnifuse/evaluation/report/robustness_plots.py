"""Robustness figures: metric-vs-corruption curves, per-availability-pattern bars, and the
coverage and mean size of conformal prediction sets against the missing rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes

from omnifuse.evaluation.documents import Curve, MethodRobustness
from omnifuse.evaluation.report.render import Block, Plot, figure, figures
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, new_figure, panel_grid, to_data_uri
from omnifuse.evaluation.metrics import METRICS
from omnifuse.evaluation.report import robustness_table
from omnifuse.evaluation.report.values import (
    SURVIVAL_METRICS,
    level_items,
    metric_label,
    ordered,
    pattern_sort_key,
    stat,
)

Series = list[tuple[float, float | None, float | None, float | None]]  # level, mean, low, high
Panel = tuple[str, dict[str, Series]]  # title, method -> series

#: What the level of each kind of noise means (as ``omnifuse.data.corrupt`` applies it).
NOISE_KINDS: dict[str, str] = {
    "gaussian": "gaussian = added noise in units of each feature's standard deviation",
    "dropout": "dropout = share of observed values made unobserved",
    "segment": "segment = share of a recording's time steps masked in one contiguous block",
    "flatline": "flatline = share of a recording held at a constant value (a detached electrode)",
}


def metric_candidates(metric: str | None, task: str | None = None) -> list[str]:
    """``metric`` (default ``robustness_table.DEFAULT_METRIC``; the C-index for survival
    tasks) first, then the task's other metrics."""
    pool = SURVIVAL_METRICS if task == "survival" else METRICS
    first = metric or (pool[0] if task == "survival" else robustness_table.DEFAULT_METRIC)
    return [first] + [m for m in pool if m != first]


def robustness_curve_blocks(cohort: Cohort, palette: Palette, metric: str | None = None) -> list[Block]:
    """ "Robustness to missing modalities" and "Robustness to noise" (one figure each).

    Plots ``metric``, or the first metric in ``METRICS`` order with data when it has none.
    """
    rob = cohort.robustness
    if rob is None or not rob.methods:
        return []
    methods = rob.methods
    modalities = rob.modalities
    baseline = rob.baseline
    noise_levels = rob.levels.noise
    blocks = []
    for chosen in metric_candidates(metric, rob.task):
        missing = _missing_panels(methods, modalities, chosen)
        noise, kinds = _noise_panels(methods, modalities, noise_levels, chosen)
        if missing or noise:
            break
    if missing:
        uri = _curves(missing, palette, chosen, "fraction of samples with the modality removed", baseline)
        blocks.append(
            Block(
                "missing",
                "Robustness to missing modalities",
                figure(
                    uri,
                    "metric versus missing rate",
                    f"{metric_label(chosen)} on the test samples as a growing fraction of them lose one modality "
                    "(one panel per modality; 'any' removes modalities at random). Shaded bands: confidence interval. "
                    "A flat line means the method copes with the modality being absent; a steep fall means it "
                    "depends on it.",
                ),
            )
        )
    if noise:
        uri = _curves(
            noise, palette, chosen, "noise level", baseline, max_cols=len(kinds) if 1 < len(kinds) <= 4 else 4
        )
        meaning = "; ".join(NOISE_KINDS[k] for k in kinds if k in NOISE_KINDS)
        blocks.append(
            Block(
                "noise",
                "Robustness to noise",
                figure(
                    uri,
                    "metric versus noise level",
                    f"{metric_label(chosen)} as one modality is corrupted with increasing noise (one panel per modality "
                    f"and kind of noise{': ' + meaning if meaning else ''}). Shaded bands: confidence interval. "
                    "Flatter curves are more robust.",
                ),
            )
        )
    return blocks


def conformal_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Conformal prediction sets under missing modalities": coverage and mean set size
    versus missing rate, one panel per modality and 'any' (methods without sets left out)."""
    rob = cohort.robustness
    if rob is None:
        return []
    methods = {name: m for name, m in rob.methods.items() if m.conformal is not None}
    coverage = _missing_panels(methods, rob.modalities, "coverage")
    sizes = _missing_panels(methods, rob.modalities, "set_size")
    if not coverage:
        return []
    targets = sorted({float(m.conformal) for m in methods.values() if m.conformal is not None})
    xlabel = "fraction of samples with the modality removed"
    uri = _curves(coverage, palette, "coverage", xlabel, rob.baseline, targets=targets)
    plots = [
        Plot(
            uri,
            "coverage of conformal sets versus missing rate",
            "Empirical coverage (share of test samples whose true class is in their conformal set) as a growing "
            "fraction of them lose one modality ('any': modalities removed at random). Dotted line: the target "
            f"coverage ({', '.join(f'{t:g}' for t in targets)}). Each sample is judged by the threshold of the "
            "availability pattern it has after the removal (the pooled threshold where that pattern had too few "
            "calibration samples). Shaded bands: confidence interval.",
        )
    ]
    if sizes:
        plots.append(
            Plot(
                _curves(sizes, palette, "set_size", xlabel, rob.baseline),
                "mean conformal set size versus missing rate",
                "Mean number of classes per conformal set under the same removals: sets that grow as modalities "
                "go missing say honestly that the model knows less; flat sets with falling coverage say it does not.",
            )
        )
    return [Block("conformal", "Conformal prediction sets under missing modalities", figures(plots))]


def pattern_blocks(cohort: Cohort, palette: Palette, metric: str | None = None) -> list[Block]:
    """ "Performance per availability pattern": grouped bars with CI error bars."""
    rob = cohort.robustness
    if rob is None:
        return []
    methods = {name: m.patterns for name, m in rob.methods.items()}
    counts = rob.pattern_counts
    for chosen in metric_candidates(metric, rob.task):
        patterns = sorted(
            {
                p
                for m in methods.values()
                for p in m
                if any(stat(v.get(p), chosen)[0] is not None for v in methods.values())
            },
            key=pattern_sort_key,
        )
        if patterns:
            break
    names = [n for n, m in methods.items() if any(stat(m.get(p), chosen)[0] is not None for p in patterns)]
    if not patterns or not names:
        return []
    width = min(16.0, max(5.0, 1.0 + len(patterns) * (0.3 + 0.13 * len(names))))
    fig = new_figure(width, 3.6)
    ax = fig.subplots()
    step = 0.8 / len(names)
    x = np.arange(len(patterns))
    for i, name in enumerate(names):
        keep: list[int] = []
        mean_values: list[float] = []
        below: list[float] = []
        above: list[float] = []
        for j, (mean, low, high) in enumerate(stat(methods[name].get(p), chosen) for p in patterns):
            if mean is None:
                continue
            keep.append(j)
            mean_values.append(mean)
            below.append(max(0.0, mean - low) if low is not None else 0.0)
            above.append(max(0.0, high - mean) if high is not None else 0.0)
        means = np.array(mean_values)
        err = np.array([below, above])
        ax.bar(
            x[keep] - 0.4 + step * (i + 0.5),
            means,
            step * 0.92,
            yerr=err,
            label=name,
            color=palette.colour(name),
            error_kw={"elinewidth": 0.8, "capsize": 1.5, "ecolor": "#333333"},
        )
    labels = [p + (f"\nn={counts[p]}" if p in counts else "") for p in patterns]
    ax.set_xticks(x, labels, rotation=35 if len(patterns) > 6 else 0, ha="right" if len(patterns) > 6 else "center")
    ax.grid(axis="x", visible=False)
    ax.set_ylabel(metric_label(chosen))
    if chosen in ("auroc", "c_index"):
        ax.axhline(0.5, color="#888888", linewidth=0.8, linestyle=":")
    fig.legend(loc="outside upper center", ncols=min(len(names), 7), frameon=False)
    caption = (
        f"{metric_label(chosen)} on test samples grouped by which modalities they have (availability "
        "pattern, fewest modalities first; n = test samples scored with that pattern, per repeat). Error bars: confidence "
        "interval."
        + (" Dotted line: chance (0.5)." if chosen in ("auroc", "c_index") else "")
        + " Methods that hold up on the sparse patterns on the left make use of whatever is available."
    )
    return [
        Block(
            "patterns",
            "Performance per availability pattern",
            figure(to_data_uri(fig), "metric per availability pattern", caption),
        )
    ]


def _series(curve: Curve | None, metric: str) -> Series:
    return [(level, *stat(cell, metric)) for level, cell in level_items(curve or {})]


def _has_data(series: dict[str, Series]) -> bool:
    return any(point[1] is not None for s in series.values() for point in s)


def _missing_panels(methods: dict[str, MethodRobustness], modalities: list[str], metric: str) -> list[Panel]:
    keys = ordered(modalities, [k for m in methods.values() for k in m.missing], last=["any"])
    panels = []
    for key in keys:
        series = {n: _series(m.missing.get(key), metric) for n, m in methods.items()}
        if _has_data(series):
            panels.append(("any modality" if key == "any" else key, series))
    return panels


def _noise_panels(
    methods: dict[str, MethodRobustness], modalities: list[str], level_spec: dict[str, list[float]], metric: str
) -> tuple[list[Panel], list[str]]:
    """Panels per modality and kind of noise, and the kinds that have data."""
    noise = {n: m.noise for n, m in methods.items()}
    panels, used = [], []
    for mod in ordered(modalities, [k for v in noise.values() for k in v]):
        kinds = ordered(level_spec, [k for v in noise.values() for k in v.get(mod, {})])
        for kind in kinds:
            series = {n: _series(v.get(mod, {}).get(kind), metric) for n, v in noise.items()}
            if _has_data(series):
                panels.append((f"{mod} · {kind}", series))
                used += [kind] if kind not in used else []
    return panels, used


def _curves(
    panels: list[Panel],
    palette: Palette,
    metric: str,
    xlabel: str,
    baseline: str | None,
    max_cols: int = 4,
    targets: Sequence[float] = (),
) -> str:
    fig, axes = panel_grid(len(panels), panel_w=2.9, panel_h=2.25, max_cols=max_cols, sharey=True, extra_h=0.35)
    for ax, (title, series) in zip(axes, panels):
        _draw(ax, series, palette, baseline)
        for target in targets:
            ax.axhline(target, color="#888888", linewidth=0.8, linestyle=":")
        ax.set_title(title)
        ax.set_xlabel(xlabel, fontsize=7.5)
    for ax in axes[:: min(len(axes), max_cols)]:
        ax.set_ylabel(metric_label(metric))
    handles, labels = [], []
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(h)
                labels.append(label)
    fig.legend(handles, labels, loc="outside upper center", ncols=min(len(labels), 7), frameon=False)
    return to_data_uri(fig)


def _draw(ax: Axes, series: dict[str, Series], palette: Palette, baseline: str | None) -> None:
    for name, points in series.items():
        if not any(p[1] is not None for p in points):
            continue
        x = np.array([p[0] for p in points])
        mean, low, high = (np.array([np.nan if p[k] is None else p[k] for p in points]) for k in (1, 2, 3))
        colour = palette.colour(name)
        ax.plot(
            x,
            mean,
            marker="o",
            markersize=3,
            linewidth=1.4,
            color=colour,
            label=name,
            linestyle="--" if name == baseline else "-",
        )
        band = ~(np.isnan(low) | np.isnan(high))
        if band.any():
            ax.fill_between(
                x, np.where(band, low, np.nan), np.where(band, high, np.nan), color=colour, alpha=0.13, linewidth=0
            )
