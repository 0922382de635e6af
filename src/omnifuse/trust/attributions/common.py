"""What every attribution method shares: targets, output names, shares and top features."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents.explanations import FeatureAttribution, ModalityAttribution, WindowAttribution
from omnifuse.tasks import CLASSIFICATION_TASKS

DEFAULT_TOP_K = 5
#: Width of the time windows time-series attributions are summed over (in the series' time unit).
DEFAULT_WINDOW = 6.0


#: ``(name, value, attribution)`` of one feature.
Feature = tuple[str, "float | None", float]
#: ``(channel, start, end, value, attribution)`` of one time window.
Window = tuple[str, float, float, "float | None", float]


@dataclass
class Attributed:
    """One present modality's attributions before ranking (plain tuples: a patient can have
    thousands, and only the top ones become answer objects): every feature, every time
    window, and the signed total."""

    features: list[Feature] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    total: float = 0.0


def check_task(task: str, model: str) -> None:
    """Attributions explain class scores: other task kinds (survival) are refused."""
    if task not in CLASSIFICATION_TASKS:
        raise ConfigError(
            f"attributions for {task} models ('{model}') are not supported yet "
            f"(supported tasks: {', '.join(CLASSIFICATION_TASKS)})"
        )


def check_target(target: int | None, ds: MultimodalDataset) -> None:
    k = len(ds.class_names)
    if target is not None and not 0 <= int(target) < k:
        raise ConfigError(f"attribution target {target} is not a class index in [0, {k})")


def check_top_k(top_k: int | None) -> None:
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")


def targets(scores: torch.Tensor, task: str, target: int | None) -> torch.Tensor:
    """``(B,)`` explained class per row: ``target`` if given, class 1 for binary tasks,
    else the most probable class (label) of each row of ``scores`` (logits or probabilities)."""
    if target is not None:
        return torch.full((scores.shape[0],), int(target), dtype=torch.long)
    if task == "binary":
        return torch.ones(scores.shape[0], dtype=torch.long)
    return scores.argmax(dim=1)


def class_name(ds: MultimodalDataset, k: int) -> str:
    return str(ds.class_names[k])


def output_name(ds: MultimodalDataset, k: int, linear: bool = False) -> str:
    """What the explained score is, for class ``k`` (``linear``: a linear model's margin)."""
    name = class_name(ds, k)
    if ds.task == "binary":
        return f"log-odds of class {name}"
    if ds.task == "multilabel":
        return f"log-odds of label {name}"
    return f"margin (logit) of class {name}" if linear else f"log-probability of class {name}"


def names(feature_names: Sequence[str], width: int, modality: str) -> list[str]:
    """The spec's feature names, or ``modality[j]`` when they do not match the width."""
    return list(feature_names) if len(feature_names) == width else [f"{modality}[{j}]" for j in range(width)]


def number(value: Any) -> float | None:
    """A finite float, else None (not measured)."""
    value = float(value)
    return value if math.isfinite(value) else None


def assemble(modalities: Mapping[str, Attributed], top_k: int | None) -> dict[str, ModalityAttribution]:
    """Shares (a modality's absolute attribution over that of all attributed modalities) and
    the ``top_k`` features and windows by absolute attribution (None: all non-zero ones)."""
    check_top_k(top_k)
    magnitude = {m: float(sum(abs(f[2]) for f in a.features)) for m, a in modalities.items()}
    all_abs = sum(magnitude.values())
    out = {}
    for m, a in modalities.items():
        ranked = sorted((f for f in a.features if f[2] != 0.0), key=lambda f: (-abs(f[2]), f[0]))
        windows = sorted(a.windows, key=lambda w: (-abs(w[4]), w[0], w[1]))
        out[m] = ModalityAttribution(
            total=a.total,
            share=min(1.0, magnitude[m] / all_abs) if all_abs > 0 else 0.0,
            features=[FeatureAttribution(name=n, value=v, attribution=x) for n, v, x in ranked[:top_k]],
            windows=[
                WindowAttribution(channel=c, start=s, end=e, value=v, attribution=x)
                for c, s, e, v, x in windows[:top_k]
            ],
        )
    return out
