"""Feature attributions from ``explain.json`` (``omnifuse explain``): global feature
importance per modality, and each modality's attribution share beside the model's own
modality weights (omega, attention, gates) where it has them."""

from __future__ import annotations

from omnifuse.evaluation.documents import ExplanationsDocument
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import NEUTRAL, Palette, new_figure, panel_grid, to_data_uri
from omnifuse.evaluation.report.render import Block, Plot, figures, render
from omnifuse.evaluation.report.values import fmt

#: Features per modality in the importance plot.
SHOWN = 10
WEIGHT_COLOUR = "#9aa7b8"
METHODS = {
    "integrated_gradients": "integrated gradients from the training mean",
    "tree_shap": "tree SHAP",
    "linear_shap": "exact linear SHAP",
    "stack_integrated_gradients": "per-modality exact, integrated gradients within (sk-stack)",
    "constant": "none (a constant model)",
}


def explanation_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Feature attributions" and "Attribution shares and model weights"."""
    doc = cohort.explanations
    if doc is None or not doc.n_patients:
        return []
    colour = palette.colour(doc.model) if doc.model else NEUTRAL
    blocks = []
    importance = _importance_figure(doc, colour)
    if importance is not None:
        items = [
            ("model", doc.model),
            ("method", METHODS.get(doc.method, doc.method)),
            ("patients", f"{doc.n_patients}" + (f" (split {doc.split})" if doc.split else "")),
        ]
        body = render("explanations.html.j2", items=items, figures=figures([importance]), header=[], rows=[], remark="")
        blocks.append(Block("attributions", "Feature attributions", body))
    blocks.append(_share_block(doc, colour))
    return blocks


def _importance_figure(doc: ExplanationsDocument, colour: str) -> Plot | None:
    panels = [(m, s.features[:SHOWN]) for m, s in doc.summary.items() if s.features]
    if not panels:
        return None
    most = max(len(f) for _, f in panels)
    fig, axes = panel_grid(len(panels), panel_w=3.6, panel_h=0.9 + 0.22 * most, max_cols=3)
    for ax, (modality, features) in zip(axes, panels):
        shown = list(reversed(features))
        ax.barh([_short(f.name) for f in shown], [f.mean_abs_attribution for f in shown], color=colour, alpha=0.85)
        ax.set_title(f"{modality} ({doc.summary[modality].n_present} patients)", fontweight="bold")
        ax.set_xlabel("mean |attribution|")
        ax.grid(axis="y", visible=False)
    caption = (
        "Global feature importance per modality: a feature's mean absolute attribution over the patients "
        f"that have the modality (top {SHOWN}; time series: per channel, summed over time). Attributions are "
        "in units of the explained score (the log-odds or log-probability of the explained class for neural "
        "models, the margin for the scikit-learn baselines); patients lacking a modality do not count for it."
    )
    return Plot(to_data_uri(fig), "feature importance per modality", caption)


def _share_block(doc: ExplanationsDocument, colour: str) -> Block:
    mods = [m for m, s in doc.summary.items() if s.mean_share is not None]
    has_weights = any(doc.summary[m].mean_weight is not None for m in mods)
    fig = new_figure(max(3.2, 1.2 + 0.9 * len(mods)), 2.6)
    ax = fig.subplots()
    width = 0.38 if has_weights else 0.6
    xs = list(range(len(mods)))
    shares = [float(doc.summary[m].mean_share or 0.0) for m in mods]
    ax.bar([x - (width / 2 if has_weights else 0) for x in xs], shares, width, color=colour, label="attribution share")
    if has_weights:
        weights = [float(doc.summary[m].mean_weight_normalised or 0.0) for m in mods]
        ax.bar([x + width / 2 for x in xs], weights, width, color=WEIGHT_COLOUR, label="model weight (normalised)")
        ax.legend(loc="upper right", frameon=False)
    ax.set_xticks(xs, mods, rotation=30 if len(mods) > 4 else 0)
    ax.set_ylim(0, 1)
    ax.set_ylabel("mean over patients having it")
    ax.grid(axis="x", visible=False)
    caption = (
        "A modality's attribution share (its absolute attribution over that of the patient's present "
        "modalities), averaged over the patients that have it"
        + (
            f", beside the model's own weight of the modality ({doc.modality_weights}) divided by the sum over "
            "the patient's present modalities. The two answer different questions: the weight is how much the "
            "fusion lets a modality in, the share how much the modality's values moved this prediction away from "
            "an average patient's; a modality with a high weight but a low share carries little patient-specific "
            "information."
            if has_weights
            else ". This model has no modality weights of its own to compare with."
        )
    )
    plot = Plot(to_data_uri(fig), "attribution shares and model weights", caption)
    header = ["modality", "patients having it", "mean share"]
    if has_weights:
        header += ["mean weight", "mean weight (normalised)"]
    rows = []
    for m, s in doc.summary.items():
        row = [m, str(s.n_present), fmt(s.mean_share, 3)]
        if has_weights:
            row += [fmt(s.mean_weight, 3), fmt(s.mean_weight_normalised, 3)]
        rows.append(row)
    absent = [m for m, s in doc.summary.items() if not s.n_present]
    remark = (
        f"No explained patient has {', '.join(absent)}: absent modalities get no attribution (never a zero one)."
        if absent
        else ""
    )
    body = render("explanations.html.j2", items=[], figures=figures([plot]), header=header, rows=rows, remark=remark)
    return Block("attribution-shares", "Attribution shares and model weights", body)


def _short(name: str, width: int = 28) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"
