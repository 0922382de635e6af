"""Per-class F1 and the hypnogram (true vs predicted stages of one night) from ``details.json``."""

from __future__ import annotations

from dataclasses import dataclass

from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, new_figure, to_data_uri
from omnifuse.evaluation.report.render import Block, figure, render
from omnifuse.evaluation.report.values import fmt


@dataclass(frozen=True)
class _Row:
    name: str
    colour: str
    values: list[str]


def per_class_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Per-class F1": one row per method, one column per class (multiclass tasks)."""
    details = cohort.details
    if details is None:
        return []
    classes = details.classes
    rows = []
    for name, method in details.methods.items():
        f1 = method.per_class_f1
        if f1:
            rows.append(_Row(name, palette.colour(name), [fmt(f1.get(c)) for c in classes]))
    if not rows:
        return []
    text = (
        "F1 of each class on the pooled clean test predictions (one-vs-rest). For sleep staging, N1 is the "
        "hardest stage for every published method."
    )
    return [Block("per-class", "Per-class F1", render("per_class.html.j2", classes=classes, rows=rows, text=text))]


def hypnogram_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Hypnogram": true stages of the first test night against each method's prediction."""
    details = cohort.details
    hyp = details.hypnogram if details is not None else None
    if details is None or hyp is None or not hyp.true or not details.classes or not hyp.methods:
        return []
    classes, true, methods = details.classes, hyp.true, hyp.methods
    order = _display_order(classes)
    seconds = hyp.epoch_seconds or 30.0
    hours = [k * seconds / 3600 for k in range(len(true))]
    rows = 1 + len(methods)
    fig = new_figure(9.0, 0.95 * rows + 0.6)
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    for ax, (label, values, colour) in zip(
        axes, [("truth", true, "#222222"), *[(k, v, palette.colour(k)) for k, v in methods.items()]]
    ):
        levels = [order.get(v) for v in values]
        ax.step(
            hours, [lv if lv is not None else float("nan") for lv in levels], where="post", color=colour, linewidth=1.1
        )
        ax.set_yticks(range(len(classes)), [classes[i] for i in sorted(order, key=order.__getitem__)], fontsize=7)
        ax.set_ylim(len(classes) - 0.5, -0.5)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        if label != "truth":
            agree = sum(a == b for a, b in zip(values, true))
            ax.set_title(f"{label}: {agree / len(true):.0%} of epochs agree", fontsize=8, loc="right")
    axes[-1].set_xlabel("hours since the first scored epoch")
    caption = (
        f"Recording {hyp.recording}: the expert hypnogram (top) and each method's predicted "
        "stage per 30 s epoch, stages ordered as on a clinical hypnogram (wake at the top, deep sleep at "
        "the bottom)."
    )
    return [Block("hypnogram", "Hypnogram", figure(to_data_uri(fig), "hypnogram", caption))]


def _display_order(classes: list[str]) -> dict[int, int]:
    """Class index -> row: W, REM, N1, N2, N3 when those are the classes, else as given."""
    clinical = ["W", "REM", "N1", "N2", "N3"]
    if set(clinical) == set(classes):
        return {classes.index(c): row for row, c in enumerate(clinical)}
    return {k: k for k in range(len(classes))}
