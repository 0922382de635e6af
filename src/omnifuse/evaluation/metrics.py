"""Classification metrics of predicted probabilities, for binary, multiclass and multilabel tasks.

Conventions (see ``compute_metrics``):

* Inputs: ``probs`` is ``(n, C)`` (for binary tasks ``C = 2``, column 1 the positive class;
  a 1-D vector of positive-class probabilities is accepted too); ``y`` is ``(n,)`` class
  indices (binary, multiclass) or ``(n, C)`` 0/1 indicators (multilabel).
* Hard predictions: binary ``p[:, 1] > 0.5``; multiclass ``argmax``; multilabel ``p > 0.5``.
* Undefined per-class values are excluded from macro averages; a metric with no defined
  class at all is NaN. Nothing raises on degenerate data.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
import torch
import torchmetrics.functional.classification as tmf

from omnifuse.errors import ConfigError
from omnifuse.tasks import CLASSIFICATION_TASKS

METRICS: tuple[str, ...] = (
    "auroc",
    "auprc",
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "kappa",
    "brier",
    "ece",
)

#: Whether a larger value of each metric is better (Brier score and ECE are errors).
HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType({m: m not in ("brier", "ece") for m in METRICS})


def as_arrays(
    probs: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, task: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate and convert to ``(float64 (n, C) probabilities, int64 targets)``."""
    if task not in CLASSIFICATION_TASKS:
        raise ConfigError(f"unknown task '{task}' (valid: {', '.join(CLASSIFICATION_TASKS)})")
    p = _to_numpy(probs).astype(np.float64, copy=False)
    t = _to_numpy(y)
    if task == "binary" and (p.ndim == 1 or (p.ndim == 2 and p.shape[1] == 1)):
        p = p.reshape(-1)
        p = np.stack([1.0 - p, p], axis=1)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n_samples, n_classes), got shape {p.shape}")
    n, c = p.shape
    if task == "binary" and c != 2:
        raise ValueError(f"binary probs need 2 columns, got {c}")
    if not np.all(np.isfinite(p)):
        raise ValueError("probs contain NaN or infinite values")
    if task == "multilabel":
        if t.shape != (n, c):
            raise ValueError(f"multilabel y must be {(n, c)} indicators, got shape {t.shape}")
        if t.size and not np.all((t == 0) | (t == 1)):
            raise ValueError("multilabel y must contain only 0/1")
    else:
        t = t.reshape(-1) if t.ndim == 2 and t.shape[1] == 1 else t
        if t.shape != (n,):
            raise ValueError(f"{task} y must be ({n},) class indices, got shape {t.shape}")
        if n and (t.min() < 0 or t.max() >= c or not np.all(t == np.round(t))):
            raise ValueError(f"class indices must be integers in [0, {c})")
    return p, t.astype(np.int64)


def hard_predictions(probs: np.ndarray, task: str) -> np.ndarray:
    """Predicted classes (binary/multiclass, ``(n,)``) or 0/1 labels (multilabel, ``(n, C)``)."""
    if task == "binary":
        return (probs[:, 1] > 0.5).astype(np.int64)
    if task == "multiclass":
        return probs.argmax(axis=1).astype(np.int64)
    return (probs > 0.5).astype(np.int64)


def bin_edges(n_bins: int) -> np.ndarray:
    """Edges of the equal-width confidence bins, exactly as torchmetrics builds them."""
    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    return torch.linspace(0, 1, n_bins + 1, dtype=torch.float64).numpy()


def compute_metrics(
    probs: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, task: str, n_bins: int = 15
) -> dict[str, float]:
    """All ``METRICS`` of predicted probabilities against targets.

    * auroc / auprc: binary on the positive class; multiclass macro one-vs-rest; multilabel
      macro over labels. A class (label) whose one-vs-rest target is constant (absent from
      ``y``, or every sample) has no defined value and is left out of the macro mean; if no
      class is defined (e.g. single-class ``y``) the metric is NaN.
    * accuracy: multilabel = exact match of the whole label vector (sklearn
      ``accuracy_score`` subset accuracy).
    * balanced_accuracy: macro recall over the classes present in ``y`` (sklearn
      ``balanced_accuracy_score``); multilabel = mean over labels of the per-label binary
      balanced accuracy.
    * macro_f1: macro F1 over classes (binary: over both classes); multilabel: over labels
      (positive class). Classes neither in ``y`` nor predicted (F1 = 0/0) are left out, i.e.
      sklearn ``f1_score(average="macro", zero_division=np.nan)``.
    * kappa: Cohen's kappa; multilabel: mean over labels. NaN (left out of the multilabel
      mean) when the chance agreement is 1 (truth and prediction one and the same class).
    * brier: binary ``mean((p1 - y)^2)``; multiclass ``mean_i sum_k (p_ik - onehot_ik)^2``
      (original Brier, range [0, 2], sklearn ``brier_score_loss`` for multiclass);
      multilabel mean over labels of the binary score.
    * ece: L1 expected calibration error over ``n_bins`` equal-width bins (torchmetrics;
      confidence exactly 1.0 falls in a bin of its own). Binary: positive-class probability
      vs outcome; multiclass: top-class confidence vs correctness; multilabel: mean over labels.

    Empty input gives NaN for every metric.
    """
    p, t = as_arrays(probs, y, task)
    bin_edges(n_bins)
    if len(t) == 0:
        return {m: float("nan") for m in METRICS}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics warns on the degenerate cases we handle
        out = {"binary": _binary, "multiclass": _multiclass, "multilabel": _multilabel}[task](p, t, n_bins)
    return {m: float(out[m]) for m in METRICS}


def confusion_matrix(probs: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, task: str) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class: ``(C, C)``.

    For multilabel tasks: ``(C, 2, 2)`` per-label matrices ``[[TN, FP], [FN, TP]]``.
    """
    p, t = as_arrays(probs, y, task)
    pred = hard_predictions(p, task)
    c = p.shape[1]
    if task == "multilabel":
        codes = 2 * t + pred  # (n, C): 0 TN, 1 FP, 2 FN, 3 TP
        return np.stack([np.bincount(codes[:, k], minlength=4).reshape(2, 2) for k in range(c)])
    return np.bincount(t * c + pred, minlength=c * c).reshape(c, c)


def calibration_curve(
    probs: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, task: str, n_bins: int = 15
) -> dict[str, np.ndarray]:
    """Reliability-diagram data over ``n_bins`` equal-width bins of ``[0, 1]``.

    Confidence is the positive-class probability (binary, outcome = y), the top-class
    probability (multiclass, outcome = prediction correct), or every label probability
    pooled (multilabel, outcome = label present). Bins are ``[e_k, e_k+1)``, the last one
    closed (as sklearn's ``calibration_curve``). Returns ``edges`` ``(n_bins + 1,)``,
    ``confidence`` and ``accuracy`` (bin means, NaN for empty bins) and ``count``.
    """
    p, t = as_arrays(probs, y, task)
    conf, hit = _confidence_outcome(p, t, task)
    edges = bin_edges(n_bins)
    idx = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(idx, weights=conf, minlength=n_bins) / count
        mean_hit = np.bincount(idx, weights=hit, minlength=n_bins) / count
    return {"edges": edges, "confidence": mean_conf, "accuracy": mean_hit, "count": count}


# --------------------------------------------------------------------------- helpers


def _to_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _confidence_outcome(p: np.ndarray, t: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    if task == "binary":
        return p[:, 1], t.astype(np.float64)
    if task == "multiclass":
        return p.max(axis=1), (p.argmax(axis=1) == t).astype(np.float64)
    return p.reshape(-1), t.reshape(-1).astype(np.float64)


def _macro(values: torch.Tensor | np.ndarray, defined: np.ndarray) -> float:
    """Mean of the defined entries; NaN when none is defined."""
    v = np.asarray(values, dtype=np.float64)[defined]
    return float(v.mean()) if v.size else float("nan")


def _constant(columns: np.ndarray) -> np.ndarray:
    """Per column of 0/1 indicators: True where all equal (one-vs-rest AUROC undefined)."""
    s = columns.sum(axis=0)
    return (s == 0) | (s == columns.shape[0])


def _from_confusion(cm: np.ndarray) -> tuple[float, float]:
    """Balanced accuracy and macro F1 (with exclusion rules) from a ``(C, C)`` matrix."""
    tp = np.diag(cm).astype(np.float64)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / support
        f1 = 2 * tp / (support + predicted)
    return _macro(recall, support > 0), _macro(f1, support + predicted > 0)


def _binary(p: np.ndarray, t: np.ndarray, n_bins: int) -> dict[str, float]:
    p1, yt = torch.from_numpy(p[:, 1].copy()), torch.from_numpy(t)
    single = bool(_constant(t[:, None])[0])
    cm = tmf.binary_confusion_matrix(p1, yt, threshold=0.5).numpy()
    ba, f1 = _from_confusion(cm)
    return {
        "auroc": np.nan if single else tmf.binary_auroc(p1, yt),
        "auprc": np.nan if single else tmf.binary_average_precision(p1, yt),
        "accuracy": tmf.binary_accuracy(p1, yt, threshold=0.5),
        "balanced_accuracy": ba,
        "macro_f1": f1,
        "kappa": tmf.binary_cohen_kappa(p1, yt, threshold=0.5),
        "brier": np.mean((p[:, 1] - t) ** 2),
        "ece": tmf.binary_calibration_error(p1, yt, n_bins=n_bins, norm="l1"),
    }


def _multiclass(p: np.ndarray, t: np.ndarray, n_bins: int) -> dict[str, float]:
    c = p.shape[1]
    pt, yt = torch.from_numpy(p), torch.from_numpy(t)
    onehot = np.eye(c)[t]
    defined = ~_constant(onehot)
    cm = tmf.multiclass_confusion_matrix(pt, yt, c).numpy()
    ba, f1 = _from_confusion(cm)
    return {
        "auroc": _macro(tmf.multiclass_auroc(pt, yt, c, average="none"), defined),
        "auprc": _macro(tmf.multiclass_average_precision(pt, yt, c, average="none"), defined),
        "accuracy": tmf.multiclass_accuracy(pt, yt, c, average="micro"),
        "balanced_accuracy": ba,
        "macro_f1": f1,
        "kappa": tmf.multiclass_cohen_kappa(pt, yt, c),
        "brier": np.mean(np.sum((p - onehot) ** 2, axis=1)),
        "ece": tmf.multiclass_calibration_error(pt, yt, c, n_bins=n_bins, norm="l1"),
    }


def _multilabel(p: np.ndarray, t: np.ndarray, n_bins: int) -> dict[str, float]:
    c = p.shape[1]
    pt, yt = torch.from_numpy(p), torch.from_numpy(t)
    defined = ~_constant(t)
    cms = tmf.multilabel_confusion_matrix(pt, yt, c, threshold=0.5).numpy()  # (C, 2, 2)
    ba = np.array([_from_confusion(cm)[0] for cm in cms])
    tp, fp, fn = cms[:, 1, 1], cms[:, 0, 1], cms[:, 1, 0]
    f1 = tmf.multilabel_f1_score(pt, yt, c, threshold=0.5, average="none")
    kappa = np.array([float(tmf.binary_cohen_kappa(pt[:, k], yt[:, k], threshold=0.5)) for k in range(c)])
    ece = [float(tmf.binary_calibration_error(pt[:, k], yt[:, k], n_bins=n_bins)) for k in range(c)]
    return {
        "auroc": _macro(tmf.multilabel_auroc(pt, yt, c, average="none"), defined),
        "auprc": _macro(tmf.multilabel_average_precision(pt, yt, c, average="none"), defined),
        "accuracy": tmf.multilabel_exact_match(pt, yt, c, threshold=0.5),
        "balanced_accuracy": float(np.mean(ba)),
        "macro_f1": _macro(f1, tp + fp + fn > 0),
        "kappa": _macro(kappa, ~np.isnan(kappa)),
        "brier": np.mean((p - t) ** 2),
        "ece": float(np.mean(ece)),
    }
