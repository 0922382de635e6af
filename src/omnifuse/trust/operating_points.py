"""Operating points: a decision threshold chosen on validation samples, and what it means.

A probability is not yet a decision. :func:`choose_threshold` picks the threshold on
**validation samples only** (never on the test samples it is then reported on) by a rule:

* ``youden`` (default): maximises Youden's J = sensitivity + specificity - 1 (Youden,
  "Index for rating diagnostic tests", Cancer 3(1), 1950); ties go to the higher threshold.
* ``f1``: maximises the F1 score of the positive class.
* ``sens=0.9``: the highest threshold whose sensitivity is at least 0.9, i.e. the best
  specificity that keeps that sensitivity (a rule-out test).
* ``spec=0.9``: the lowest threshold whose specificity is at least 0.9 (a rule-in test).
* a number in (0, 1), e.g. ``0.3``: that fixed threshold.

A sample is called positive when ``p >= threshold``; candidate thresholds are the
validation probabilities themselves (scikit-learn's ``roc_curve`` /
``precision_recall_curve``). At the threshold, :func:`operating_point_metrics` gives
sensitivity, specificity, PPV, NPV, F1 and MCC (scikit-learn), and
:func:`operating_point_intervals` their bootstrap intervals over patients. Multiclass
tasks have no threshold: per-class sensitivity, weighted F1 and MCC at the argmax.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import metrics as skm

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import as_arrays
from omnifuse.tasks import SINGLE_LABEL_TASKS
from omnifuse.trust._bootstrap import MetricFn, intervals

RULES = ("youden", "f1", "sens=<x>", "spec=<x>", "<threshold in (0, 1)>")
BINARY_METRICS = ("sensitivity", "specificity", "ppv", "npv", "f1", "mcc")


@dataclass(frozen=True)
class Rule:
    """A parsed operating-point rule: ``kind`` in youden, f1, sens, spec, fixed."""

    kind: str
    value: float | None = None

    def __str__(self) -> str:
        if self.kind in ("youden", "f1"):
            return self.kind
        return f"{self.value:g}" if self.kind == "fixed" else f"{self.kind}={self.value:g}"


def parse_rule(rule: str | float | Rule) -> Rule:
    """``"youden"``, ``"f1"``, ``"sens=0.9"``, ``"spec=0.85"`` or a threshold like ``0.3``.

    Raises:
        ConfigError: an unknown rule, or a target or threshold outside (0, 1) (one line).
    """
    if isinstance(rule, Rule):
        return rule
    text = str(rule).strip().lower().replace(" ", "")
    if text in ("youden", "f1"):
        return Rule(text)
    kind, sep, rest = text.partition("=")
    if sep and kind in ("sens", "spec"):
        target = _number(rest)
        if target is None:
            raise ConfigError(f"operating point '{rule}': '{rest}' is not a number (valid: {', '.join(RULES)})")
        if not 0 < target < 1:
            raise ConfigError(f"operating point '{rule}': the target must be in (0, 1)")
        return Rule(kind, target)
    value = _number(text)
    if value is None:
        raise ConfigError(f"operating point '{rule}': unknown rule (valid: {', '.join(RULES)})")
    if not 0 < value < 1:
        raise ConfigError(f"operating point '{rule}': a fixed threshold must be in (0, 1)")
    return Rule("fixed", value)


def choose_threshold(probs: np.ndarray, y: np.ndarray, rule: str | float | Rule = "youden") -> float:
    """The decision threshold of ``rule`` on validation ``probs`` (``(n,)`` positive-class
    probabilities or ``(n, 2)``) and binary labels ``y``.

    Raises:
        ConfigError: a bad rule, or validation samples of a single class (a data-driven rule
            needs both); an unreachable target (e.g. no threshold gives the specificity).
    """
    parsed = parse_rule(rule)
    if parsed.kind == "fixed":
        return float(parsed.value)  # type: ignore[arg-type]
    p1, t = _binary(probs, y)
    if len(np.unique(t)) < 2:
        raise ConfigError(
            f"operating point '{parsed}' needs both classes in the validation samples, "
            f"which hold only class {int(t[0]) if len(t) else 'none'}"
        )
    if parsed.kind == "f1":
        precision, recall, thresholds = skm.precision_recall_curve(t, p1)
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)[:-1]
        return float(thresholds[int(np.argmax(f1))])
    fpr, tpr, thresholds = skm.roc_curve(t, p1, drop_intermediate=False)
    # thresholds decrease; thresholds[0] = inf (nobody positive) is not a usable threshold
    target = float(parsed.value or 0.0)
    if parsed.kind == "youden":
        k = 1 + int(np.argmax((tpr - fpr)[1:]))
    elif parsed.kind == "sens":
        k = max(1, int(np.argmax(tpr >= target - 1e-12)))
    else:
        feasible = np.flatnonzero(1 - fpr >= target - 1e-12)
        k = int(feasible[-1])
        if k == 0:  # only "nobody positive" reaches it: just above the highest probability
            return float(np.nextafter(thresholds[1], np.inf))
    return float(thresholds[k])


def operating_point_metrics(
    probs: np.ndarray,
    y: np.ndarray,
    threshold: float | None = None,
    task: str | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """What the decision rule does on ``probs`` against ``y``.

    Binary (``task`` inferred from a 1-D or 2-column ``probs``): positive when
    ``p >= threshold`` (0.5 when None): ``sensitivity``, ``specificity``, ``ppv``, ``npv``,
    ``f1``, ``mcc`` (NaN where a denominator is 0; MCC is 0 then, as scikit-learn defines
    it), the counts ``tp``, ``fp``, ``tn``, ``fn`` and ``threshold``.

    Multiclass (argmax; ``threshold`` must be None): ``sensitivity`` per class name,
    ``weighted_f1``, ``mcc`` and ``accuracy``.
    """
    task = decision_task(probs, task)
    if task == "multiclass":
        if threshold is not None:
            raise ConfigError("a threshold is for binary tasks; multiclass decisions are the argmax")
        p, t = as_arrays(probs, y, task)
        names = _class_names(class_names, p.shape[1])
        pred = p.argmax(axis=1)
        labels = list(range(p.shape[1]))
        recall = skm.recall_score(t, pred, labels=labels, average=None, zero_division=np.nan)
        return {
            "sensitivity": {n: float(r) for n, r in zip(names, recall)},
            "weighted_f1": float(skm.f1_score(t, pred, labels=labels, average="weighted", zero_division=np.nan)),
            "mcc": _mcc(t, pred),
            "accuracy": float(skm.accuracy_score(t, pred)) if len(t) else float("nan"),
        }
    thr = 0.5 if threshold is None else check_threshold(threshold)
    p1, t = _binary(probs, y)
    pred = (p1 >= thr).astype(np.int64)
    tn, fp, fn, tp = (int(c) for c in skm.confusion_matrix(t, pred, labels=[0, 1]).ravel())
    nan = np.nan
    return {
        "threshold": thr,
        "sensitivity": float(skm.recall_score(t, pred, pos_label=1, zero_division=nan)),
        "specificity": float(skm.recall_score(t, pred, pos_label=0, zero_division=nan)),
        "ppv": float(skm.precision_score(t, pred, pos_label=1, zero_division=nan)),
        "npv": float(skm.precision_score(t, pred, pos_label=0, zero_division=nan)),
        "f1": float(skm.f1_score(t, pred, pos_label=1, zero_division=nan)),
        "mcc": _mcc(t, pred),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def operating_point_intervals(
    probs: np.ndarray,
    y: np.ndarray,
    threshold: float | None = None,
    task: str | None = None,
    groups: Sequence[str] | np.ndarray | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    class_names: Sequence[str] | None = None,
) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "ci_low", "ci_high"}}`` for the metrics of
    :func:`operating_point_metrics` (multiclass: ``sensitivity:<class>``, ``weighted_f1``,
    ``mcc``) at the fixed ``threshold``, bootstrapped over patients.

    ``groups`` (the patient of each sample, e.g. ``dataset.groups``) resamples patients
    with all their samples; without it each sample is a patient (class-stratified
    resamples, as :func:`omnifuse.evaluation.statistics.bootstrap_all`). The threshold is
    held fixed: choose it on validation samples, then bootstrap the test samples.
    """
    task = decision_task(probs, task)
    p, t = as_arrays(probs, y, task)
    if task == "binary":
        thr = 0.5 if threshold is None else check_threshold(threshold)
        fns = binary_metric_fns(thr)
    else:
        if threshold is not None:
            raise ConfigError("a threshold is for binary tasks; multiclass decisions are the argmax")
        fns = multiclass_metric_fns(_class_names(class_names, p.shape[1]))
    return intervals(p, t, task, fns, groups=groups, n_boot=n_boot, alpha=alpha, seed=seed)


# --------------------------------------------------------------------------- metric callables


def binary_metric_fns(threshold: float) -> list[MetricFn]:
    """The binary operating-point metrics as ``f(probs (n, 2), y) -> float`` callables
    (named as in :data:`BINARY_METRICS`), computed from the confusion counts with numpy so a
    thousand resamples stay fast; equal to scikit-learn's values (tested)."""
    fns: list[MetricFn] = []
    for name in BINARY_METRICS:

        def fn(p: np.ndarray, t: np.ndarray, _name: str = name) -> float:
            return _from_counts(_counts(p[:, 1] >= threshold, t), _name)

        fn.__name__ = name
        fns.append(fn)
    return fns


def multiclass_metric_fns(class_names: Sequence[str]) -> list[MetricFn]:
    """Per-class sensitivity (``sensitivity:<class>``), weighted F1 and MCC at the argmax,
    from the confusion matrix with numpy (equal to scikit-learn's values, tested)."""
    fns: list[MetricFn] = []
    for k, name in enumerate(class_names):

        def sens(p: np.ndarray, t: np.ndarray, _k: int = k) -> float:
            support = np.sum(t == _k)
            return float(np.sum((p.argmax(axis=1) == _k) & (t == _k)) / support) if support else float("nan")

        sens.__name__ = f"sensitivity:{name}"
        fns.append(sens)

    def weighted_f1(p: np.ndarray, t: np.ndarray) -> float:
        cm = _confusion(p, t)
        support, predicted = cm.sum(axis=1), cm.sum(axis=0)
        if not support.sum():
            return float("nan")
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(support > 0, 2 * np.diag(cm) / (support + predicted), 0.0)
        return float(np.sum(f1 * support) / support.sum())

    def mcc(p: np.ndarray, t: np.ndarray) -> float:
        cm = _confusion(p, t)
        n, correct = cm.sum(), np.trace(cm)
        support, predicted = cm.sum(axis=1), cm.sum(axis=0)
        if not n:
            return float("nan")
        denominator = math.sqrt(float(n**2 - predicted @ predicted) * float(n**2 - support @ support))
        return float((correct * n - predicted @ support) / denominator) if denominator else 0.0

    return [*fns, weighted_f1, mcc]


def _confusion(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    k = p.shape[1]
    return np.bincount(t * k + p.argmax(axis=1), minlength=k * k).reshape(k, k)


def _counts(pred: np.ndarray, t: np.ndarray) -> tuple[int, int, int, int]:
    """``(tp, fp, tn, fn)`` of boolean predictions against 0/1 targets."""
    pos = t == 1
    tp = int(np.sum(pred & pos))
    fp = int(np.sum(pred & ~pos))
    fn = int(np.sum(~pred & pos))
    return tp, fp, len(t) - tp - fp - fn, fn


def _from_counts(counts: tuple[int, int, int, int], name: str) -> float:
    tp, fp, tn, fn = counts

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    if name == "sensitivity":
        return ratio(tp, tp + fn)
    if name == "specificity":
        return ratio(tn, tn + fp)
    if name == "ppv":
        return ratio(tp, tp + fp)
    if name == "npv":
        return ratio(tn, tn + fn)
    if name == "f1":
        return ratio(2 * tp, 2 * tp + fp + fn)
    if tp + fp + tn + fn == 0:
        return float("nan")
    denominator = math.sqrt(float((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))
    return (tp * tn - fp * fn) / denominator if denominator else 0.0  # MCC, 0 when undefined (sklearn)


# --------------------------------------------------------------------------- helpers


def _mcc(t: np.ndarray, pred: np.ndarray) -> float:
    """scikit-learn's MCC (0 when undefined, NaN without samples), without its warning on
    a single label."""
    if not len(t):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(skm.matthews_corrcoef(t, pred))


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def check_threshold(value: float) -> float:
    """``value`` as a float; outside (0, 1) a one-line ConfigError."""
    value = float(value)
    if not 0 < value < 1:
        raise ConfigError(f"operating point '{value:g}': a fixed threshold must be in (0, 1)")
    return value


def decision_task(probs: np.ndarray, task: str | None = None) -> str:
    """``task`` checked (binary or multiclass), or inferred: 1-D or 2-column ``probs`` are binary."""
    if task is None:
        shape = np.shape(probs)
        task = "binary" if len(shape) == 1 or shape[1] <= 2 else "multiclass"
    if task not in SINGLE_LABEL_TASKS:
        raise ConfigError(f"operating points are for binary and multiclass tasks, not {task}")
    return task


def _binary(probs: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_arrays(probs, y, "binary")
    return p[:, 1], t


def _class_names(names: Sequence[str] | None, k: int) -> list[str]:
    if names is None:
        return [str(c) for c in range(k)]
    if len(names) != k:
        raise ConfigError(f"{len(names)} class names for {k} classes")
    return [str(n) for n in names]
