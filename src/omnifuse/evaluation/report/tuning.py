"""The tuning section: optimisation history and parameter importances from ``tune.json``."""

from __future__ import annotations

from typing import Any

from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import NEUTRAL, Palette, new_figure, to_data_uri
from omnifuse.evaluation.report.render import Block, Plot, figures, render
from omnifuse.evaluation.report.values import as_dict, as_list, fmt, metric_label, num

PRUNED_COLOUR = "#b8bfc8"


def tuning_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Hyperparameter tuning": the best trial, the history figure and the importances."""
    doc = cohort.tune or {}
    points = [as_dict(p) for p in as_list(doc.get("history"))]
    if not points:
        return []
    model = str(doc.get("model", ""))
    metric = str(doc.get("metric", "auroc"))
    colour = palette.colour(model) if model else NEUTRAL
    items = [
        ("model", model),
        ("metric", metric_label(metric)),
        ("inner folds", str(doc.get("folds", ""))),
        (
            "trials",
            f"{doc.get('n_complete', 0)} complete, {doc.get('n_pruned', 0)} pruned, {doc.get('n_failed', 0)} failed",
        ),
        ("best", f"{fmt(doc.get('best_value'), 4)} (trial {doc.get('best_trial')})"),
    ]
    shown = [_history_figure(points, metric, str(doc.get("direction", "maximize")), colour)]
    importances = {k: v for k, v in as_dict(doc.get("importances")).items() if num(v) is not None}
    if importances:
        shown.append(_importance_figure(importances, colour))
    best = as_dict(doc.get("best_params"))
    params = [[k, fmt(v, 4) if isinstance(v, float) else str(v), fmt(importances.get(k), 2)] for k, v in best.items()]
    body = render(
        "tuning.html.j2", items=items, protocol=str(doc.get("protocol") or ""), figures=figures(shown), params=params
    )
    return [Block("tuning", "Hyperparameter tuning", body)]


def _history_figure(points: list[dict[str, Any]], metric: str, direction: str, colour: str) -> Plot:
    fig = new_figure(7.0, 2.8)
    ax = fig.subplots()
    done = [
        (int(p["number"]), num(p.get("value")))
        for p in points
        if p.get("state") == "COMPLETE" and num(p.get("value")) is not None
    ]
    pruned = [int(p["number"]) for p in points if p.get("state") == "PRUNED"]
    if done:
        xs, ys = zip(*done)
        ax.scatter(xs, ys, s=16, color=colour, label="complete", zorder=3)
        best, running = [], None
        for y in ys:
            running = y if running is None else (max(running, y) if direction == "maximize" else min(running, y))
            best.append(running)
        ax.step(xs, best, where="post", color=colour, alpha=0.7, label="best so far")
    if pruned:
        low = ax.get_ylim()[0] if done else 0.0
        ax.scatter(pruned, [low] * len(pruned), marker="|", s=60, color=PRUNED_COLOUR, label="pruned", zorder=2)
    ax.set_xlabel("trial")
    ax.set_ylabel(f"mean inner-fold {metric_label(metric)}")
    ax.legend(loc="best", frameon=False)
    return Plot(
        to_data_uri(fig),
        "optimisation history",
        "Optimisation history: each complete trial's mean inner-fold score, the best so far, "
        "and the trials the pruner stopped early",
    )


def _importance_figure(importances: dict[str, Any], colour: str) -> Plot:
    items = sorted(importances.items(), key=lambda kv: float(kv[1]))
    fig = new_figure(7.0, max(1.6, 0.8 + 0.25 * len(items)))
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [float(v) for _, v in items], color=colour)
    ax.set_xlabel("importance (fANOVA, share of the score's variance)")
    ax.grid(axis="y", visible=False)
    return Plot(
        to_data_uri(fig),
        "parameter importances",
        "Parameter importances over the complete trials (optuna.importance.get_param_importances)",
    )
