"""Survival blocks of the report, from the per-sample test predictions in ``details.json``.

For every method of a survival cohort, ``details.json`` holds (``methods.<name>.survival``,
:class:`omnifuse.evaluation.documents.SurvivalDetails`) one entry per clean test sample of
every repeat, pooled in repeat order::

    {"time_unit": "days",
     "folds": [{"label": "seed 0 fold 0", "horizons": [t1, t2, t3], "risk_median": r}, ...],
     "sample_id": [...], "fold": [0, 0, ..., 1, ...],       # index in folds
     "time": [...], "event": [true, false, ...],
     "risk": [...],                                          # higher: event expected sooner
     "survival": [[S(t1), S(t2), S(t3)], ...]}               # at the sample's fold's horizons

From them the report draws

* **Kaplan-Meier curves of predicted risk groups**: within each repeat the test samples are
  split at the median risk of that repeat's *training* samples (``risk_median``, fixed before
  the test samples are seen; the test samples' own median when it is missing), or into
  tertiles of the repeat's test risk; groups are pooled over repeats (a Cox head's log-risks
  are comparable within a repeat only) and compared with the log-rank test;
* **calibration at a horizon**: within each repeat the test samples are grouped by their
  predicted survival at the repeat's middle horizon (the median training event time), and
  each group's mean prediction is set against its Kaplan-Meier estimate at that time.

The C-index against the missing rate comes from ``robustness.json`` (metric ``c_index``)
through the robustness curves (:mod:`omnifuse.evaluation.report.robustness_plots`).

Everything here reads its input by field name (pydantic models or plain dicts alike) and
never raises on degenerate data: a method whose groups cannot be formed is left out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnifuse.data.labels import SURVIVAL_DTYPE
from omnifuse.evaluation.report.load import Cohort
from omnifuse.evaluation.report.plots import Palette, to_data_uri
from omnifuse.evaluation.report.render import Block, figure
from omnifuse.evaluation.report.survival_plots import calibration_figure, km_figure

#: Names of the risk groups, lowest risk first, for 2 and 3 groups.
GROUP_NAMES: dict[int, tuple[str, ...]] = {2: ("low risk", "high risk"), 3: ("low risk", "intermediate", "high risk")}
#: Fewest test samples of a repeat for it to be split into groups at all.
MIN_FOLD_SAMPLES = 6
#: Groups per repeat of the calibration plot (fewer when a repeat is small).
CALIBRATION_GROUPS = 3


@dataclass(frozen=True)
class SurvivalSamples:
    """One method's pooled test samples as arrays.

    ``survival[i]`` is sample i's predicted survival at ``horizons[fold[i]]``;
    ``risk_median[f]`` the median training risk of repeat f (None when not given).
    """

    time: np.ndarray
    event: np.ndarray
    risk: np.ndarray
    fold: np.ndarray
    survival: list[np.ndarray]
    horizons: list[np.ndarray]
    risk_median: list[float | None]
    time_unit: str | None

    def __len__(self) -> int:
        return len(self.time)


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve: ``survival[k]`` from ``time[k]`` on (1 before ``time[0]``)."""

    time: np.ndarray
    survival: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None

    def at(self, t: float) -> float:
        """The estimate at ``t`` (1 before the first time)."""
        k = int(np.searchsorted(self.time, t, side="right")) - 1
        return 1.0 if k < 0 else float(self.survival[k])


@dataclass(frozen=True)
class GroupCurves:
    """Kaplan-Meier curves of one method's risk groups and their log-rank p-value."""

    names: tuple[str, ...]
    curves: list[KaplanMeier | None]
    counts: list[tuple[int, int]]  # (samples, events) per group
    pvalue: float | None


@dataclass(frozen=True)
class CalibrationPoint:
    """One risk group of one repeat at the repeat's horizon."""

    fold: int
    group: int
    horizon: float
    predicted: float
    observed: float
    n: int


# ---------------------------------------------------------------- reading
def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _float(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return math.nan
    return v if math.isfinite(v) else math.nan


def survival_samples(details: Any) -> SurvivalSamples | None:
    """A method's ``survival`` details as arrays (None when missing or inconsistent)."""
    if details is None:
        return None
    time = np.array([_float(t) for t in _get(details, "time", []) or []], dtype=np.float64)
    n = len(time)
    event = np.array([bool(e) for e in _get(details, "event", []) or []], dtype=bool)
    risk = np.array([_float(r) for r in _get(details, "risk", []) or []], dtype=np.float64)
    fold_raw = list(_get(details, "fold", []) or [])
    folds = list(_get(details, "folds", []) or [])
    curves = list(_get(details, "survival", []) or [])
    if n == 0 or not (len(event) == len(risk) == len(fold_raw) == len(curves) == n) or not folds:
        return None
    fold = np.array([int(f) for f in fold_raw], dtype=np.int64)
    if fold.min() < 0 or fold.max() >= len(folds):
        return None
    horizons = [np.array([_float(h) for h in _get(f, "horizons", []) or []], dtype=np.float64) for f in folds]
    medians = [_float(_get(f, "risk_median")) for f in folds]
    survival = [np.array([_float(s) for s in (row or [])], dtype=np.float64) for row in curves]
    return SurvivalSamples(
        time=time,
        event=event,
        risk=risk,
        fold=fold,
        survival=survival,
        horizons=horizons,
        risk_median=[None if math.isnan(m) else m for m in medians],
        time_unit=_get(details, "time_unit"),
    )


def method_samples(cohort: Cohort) -> dict[str, SurvivalSamples]:
    """Every method of a survival cohort's ``details.json`` that has per-sample survival data."""
    details = cohort.details
    if details is None or _get(details, "task") != "survival":
        return {}
    out = {}
    for name, entry in (_get(details, "methods", {}) or {}).items():
        samples = survival_samples(_get(entry, "survival"))
        if samples is not None:
            out[name] = samples
    return out


# ---------------------------------------------------------------- statistics
def risk_groups(samples: SurvivalSamples, n_groups: int = 2) -> np.ndarray:
    """Group of every sample, 0 = lowest risk (-1: not grouped: no risk, or a tiny repeat).

    Two groups split each repeat at its training median risk (its test median when that is
    not given); three groups are the tertiles of each repeat's test risk.
    """
    if n_groups not in GROUP_NAMES:
        raise ValueError(f"n_groups must be 2 or 3, got {n_groups}")
    groups = np.full(len(samples), -1, dtype=np.int64)
    for f in np.unique(samples.fold):
        rows = np.flatnonzero((samples.fold == f) & np.isfinite(samples.risk))
        if len(rows) < MIN_FOLD_SAMPLES:
            continue
        risk = samples.risk[rows]
        if n_groups == 2:
            given = samples.risk_median[int(f)]
            cut = given if given is not None else float(np.median(risk))
            groups[rows] = (risk > cut).astype(np.int64)
        else:
            low, high = np.quantile(risk, [1 / 3, 2 / 3])
            groups[rows] = np.where(risk <= low, 0, np.where(risk <= high, 1, 2))
    return groups


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KaplanMeier | None:
    """The Kaplan-Meier estimate (scikit-survival) with a 95% log-log band (None: no samples)."""
    if len(time) == 0:
        return None
    from sksurv.nonparametric import kaplan_meier_estimator  # deferred: scikit-survival (~1.5 s): survival reports only

    low: np.ndarray | None
    high: np.ndarray | None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the band is undefined where S = 0 or 1
        try:
            t, s, band = kaplan_meier_estimator(event.astype(bool), time, conf_type="log-log")
            low, high = np.asarray(band[0], dtype=float), np.asarray(band[1], dtype=float)
        except (ValueError, ZeroDivisionError):
            t, s = kaplan_meier_estimator(event.astype(bool), time)
            low = high = None
    return KaplanMeier(np.asarray(t, dtype=float), np.asarray(s, dtype=float), low, high)


def logrank_p(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> float | None:
    """Log-rank p-value of the groups (scikit-survival's ``compare_survival``); None when it
    is undefined (fewer than two groups, no event)."""
    keep = groups >= 0
    if len(np.unique(groups[keep])) < 2 or not event[keep].any():
        return None
    from sksurv.compare import compare_survival  # deferred: scikit-survival, as in kaplan_meier

    y = np.empty(int(keep.sum()), dtype=SURVIVAL_DTYPE)
    y["event"], y["time"] = event[keep], time[keep]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _, pvalue = compare_survival(y, groups[keep])
    except (ValueError, np.linalg.LinAlgError):
        return None
    p = _float(pvalue)
    return None if math.isnan(p) else p


def group_curves(samples: SurvivalSamples, n_groups: int = 2) -> GroupCurves | None:
    """Kaplan-Meier curves and log-rank p of the risk groups (None: fewer than two groups)."""
    groups = risk_groups(samples, n_groups)
    present = [g for g in range(n_groups) if (groups == g).any()]
    if len(present) < 2:
        return None
    curves: list[KaplanMeier | None] = []
    counts = []
    for g in range(n_groups):
        rows = groups == g
        curves.append(kaplan_meier(samples.time[rows], samples.event[rows]))
        counts.append((int(rows.sum()), int(samples.event[rows].sum())))
    return GroupCurves(GROUP_NAMES[n_groups], curves, counts, logrank_p(samples.time, samples.event, groups))


def middle_horizon(horizons: np.ndarray) -> float | None:
    """The middle of a repeat's horizons (its median training event time for three quartiles)."""
    finite = horizons[np.isfinite(horizons)]
    return None if not len(finite) else float(finite[(len(finite) - 1) // 2])


def calibration_points(samples: SurvivalSamples, n_groups: int = CALIBRATION_GROUPS) -> list[CalibrationPoint]:
    """Predicted vs Kaplan-Meier survival per group of predicted survival, per repeat, at the
    repeat's middle horizon. A group whose follow-up ends before the horizon is left out."""
    points = []
    for f in np.unique(samples.fold):
        horizons = samples.horizons[int(f)]
        h = middle_horizon(horizons)
        if h is None:
            continue
        column = int(np.flatnonzero(horizons == h)[0])
        rows = np.flatnonzero(samples.fold == f)
        predicted = np.array(
            [samples.survival[i][column] if column < len(samples.survival[i]) else np.nan for i in rows]
        )
        ok = np.isfinite(predicted)
        rows, predicted = rows[ok], predicted[ok]
        k = min(n_groups, len(rows) // MIN_FOLD_SAMPLES)
        if k < 1:
            continue
        order = np.argsort(-predicted, kind="stable")  # highest predicted survival (lowest risk) first
        for g, part in enumerate(np.array_split(order, k)):
            members = rows[part]
            if samples.time[members].max() < h:
                continue  # the Kaplan-Meier estimate is not defined at the horizon
            km = kaplan_meier(samples.time[members], samples.event[members])
            if km is None:
                continue
            points.append(CalibrationPoint(int(f), g, h, float(predicted[part].mean()), km.at(h), len(members)))
    return points


# ---------------------------------------------------------------- blocks
def survival_blocks(cohort: Cohort, palette: Palette) -> list[Block]:
    """ "Kaplan-Meier curves by predicted risk" and "Calibration at a horizon" (survival cohorts)."""
    samples = method_samples(cohort)
    if not samples:
        return []
    unit = next((s.time_unit for s in samples.values() if s.time_unit), None) or "time"
    blocks = []
    n_groups = 3 if all(len(s) >= 30 * _n_folds(s) for s in samples.values()) else 2
    curves = {name: c for name, s in samples.items() if (c := group_curves(s, n_groups)) is not None}
    if curves:
        how = (
            "tertiles of the predicted risk of each repeat's test samples"
            if n_groups == 3
            else "above or below the median predicted risk of each repeat's training samples"
        )
        caption = (
            f"Kaplan-Meier estimates of the test samples grouped by predicted risk ({how}), pooled over "
            "repeats; shaded bands: 95% pointwise confidence interval (log-log). Well separated curves mean "
            "the predicted risk stratifies the outcome; p: log-rank test of the groups (n = samples, "
            "e = events)."
        )
        uri = to_data_uri(km_figure(curves, palette, unit))
        blocks.append(Block("km", "Kaplan-Meier curves by predicted risk", figure(uri, "Kaplan-Meier curves", caption)))
    points = {name: p for name, s in samples.items() if (p := calibration_points(s))}
    if points:
        horizons = sorted({p.horizon for ps in points.values() for p in ps})
        at = f"{horizons[0]:.4g} {unit}" if len(horizons) == 1 else f"{horizons[0]:.4g}–{horizons[-1]:.4g} {unit}"
        caption = (
            f"Predicted survival at a horizon (the median event time of each repeat's training samples: {at}) "
            "against the Kaplan-Meier estimate at that time, in groups of test samples ranked by their "
            "predicted survival (per repeat; small dots: one group of one repeat, line: groups averaged over "
            "repeats). Points on the diagonal are well calibrated; below it the method predicts too "
            "optimistic survival, above it too pessimistic."
        )
        uri = to_data_uri(calibration_figure(points, palette))
        blocks.append(
            Block("survival-calibration", "Calibration at a horizon", figure(uri, "survival calibration", caption))
        )
    return blocks


def _n_folds(samples: SurvivalSamples) -> int:
    return max(1, len(np.unique(samples.fold)))
