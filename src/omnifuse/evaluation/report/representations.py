"""What the models learned, from ``details.json``: modality weights and t-SNE embeddings."""

from __future__ import annotations

from matplotlib.lines import Line2D

from omnifuse.evaluation.documents import Embeddings
from omnifuse.evaluation.report.render import Block, figure
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, class_colour, panel_grid, to_data_uri
from omnifuse.evaluation.report.values import nums

SOURCE_MARKERS = {"original": "o", "imputed": "X"}


def weight_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Modality weights": per method having weights, a box plot per modality."""
    details = cohort.details
    if details is None:
        return []
    panels = []
    for name, method in details.methods.items():
        if method.weights is None:
            continue
        values = {m: nums(v) for m, v in method.weights.values.items()}
        values = {m: v for m, v in values.items() if v}
        if values:
            panels.append((name, method.weights.name or "weight", values))
    if not panels:
        return []
    most = max(len(p[2]) for p in panels)
    fig, axes = panel_grid(len(panels), panel_w=max(2.8, 0.9 + 0.55 * most), panel_h=2.6, max_cols=3)
    for ax, (name, label, values) in zip(axes, panels):
        colour = palette.colour(name)
        parts = ax.boxplot(
            list(values.values()),
            patch_artist=True,
            widths=0.55,
            showfliers=True,
            flierprops={"markersize": 2, "alpha": 0.4, "markeredgecolor": colour},
            medianprops={"color": "#1d2733"},
        )
        for box in parts["boxes"]:
            box.set(facecolor=colour, alpha=0.45, edgecolor=colour)
        ax.set_xticks(range(1, len(values) + 1), list(values), rotation=30 if len(values) > 4 else 0)
        ax.set_ylabel(label)
        ax.set_title(name, color=colour, fontweight="bold")
        ax.grid(axis="x", visible=False)
    caption = (
        "Per-sample weight the model gave each modality (e.g. OmniFuse's ω), among the samples that have "
        "that modality. Boxes: middle half of the samples, line: median, whiskers: typical range. A "
        "modality with consistently high weight dominates the fused prediction; a wide box means the "
        "model adapts the weight patient by patient."
    )
    return [Block("weights", "Modality weights", figure(to_data_uri(fig), "modality weights", caption))]


def tsne_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Embeddings (t-SNE)": original vs imputed embeddings coloured by label."""
    details = cohort.details
    if details is None:
        return []
    classes = details.classes
    panels = [
        (name, m.embeddings)
        for name, m in details.methods.items()
        if m.embeddings is not None and _points(m.embeddings)
    ]
    if not panels:
        return []
    fig, axes = panel_grid(len(panels), panel_w=3.4, panel_h=3.1, max_cols=3, extra_h=0.3)
    labels_seen: set[int] = set()
    for ax, (name, emb) in zip(axes, panels):
        points = _points(emb)
        for source, marker in SOURCE_MARKERS.items():
            chosen = [p for p in points if p[2] == source]
            if not chosen:
                continue
            x, y, _, label = zip(*chosen)
            labels_seen.update(label)
            colours = [class_colour(k) if k >= 0 else "#999999" for k in label]
            ax.scatter(
                x,
                y,
                c=colours,
                marker=marker,
                s=9 if source == "original" else 26,
                alpha=0.55 if source == "original" else 0.95,
                edgecolors="none" if source == "original" else "#1d2733",
                linewidths=0.4,
            )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        modality = emb.modality
        ax.set_title(f"{name}" + (f" · {modality}" if modality else ""), color=palette.colour(name), fontweight="bold")
    handles = [
        Line2D([], [], linestyle="", marker="o", color=class_colour(k), label=_class(classes, k))
        for k in sorted(labels_seen)
        if k >= 0
    ]
    handles += [
        Line2D([], [], linestyle="", marker=m, color="#666666", markeredgecolor="#1d2733", label=s)
        for s, m in SOURCE_MARKERS.items()
    ]
    columns = min(len(panels), 3)
    fig.legend(handles=handles, loc="outside upper center", ncols=min(len(handles), 3 * columns), frameon=False)
    caption = (
        "Two-dimensional t-SNE map of a modality's embeddings: dots are embeddings computed from the "
        "modality's real data (original), crosses are embeddings OmniFuse imputed for patients missing "
        "the modality; colour is the patient's class. As in the OmniFuse paper (fig. 8), good imputation "
        "places imputed embeddings among the originals of the same class rather than in a separate "
        "cluster."
    )
    return [Block("tsne", "Embeddings (t-SNE)", figure(to_data_uri(fig), "t-SNE of embeddings", caption))]


def _class(classes: list[str], k: int) -> str:
    return classes[k] if 0 <= k < len(classes) else f"class {k}"


def _points(emb: Embeddings) -> list[tuple[float, float, str, int]]:
    """``(x, y, source, label)`` of the defined points."""
    return [(x, y, s, k) for x, y, s, k in zip(emb.x, emb.y, emb.source, emb.label) if x is not None and y is not None]
