"""Subgroup audit: does the model work as well for every group of patients?

For each subgroup column (sex, ICU type, site, ...) and each of its values, every metric of
:func:`omnifuse.evaluation.metrics.compute_metrics` (AUROC, AUPRC, Brier, ECE, ...) plus the
operating-point metrics of :mod:`omnifuse.trust.operating_points` at the chosen threshold
(sensitivity, specificity, PPV, NPV, F1, MCC), each with a bootstrap interval over
patients; per metric the largest gap between subgroups; and, for binary decisions, the
equalised-odds difference (Hardt, Price & Srebro, "Equality of Opportunity in Supervised
Learning", NeurIPS 2016: the larger of the between-group differences in true- and
false-positive rate) and the demographic-parity difference (between-group difference in
the share called positive), computed with fairlearn (Bird et al., "Fairlearn: A toolkit for
assessing and improving fairness in AI", Microsoft tech. report 2020) and its
``MetricFrame`` per-group rates.

Subgroup values are compared as strings; a missing value (NaN/None) is a subgroup of its
own, ``"(missing)"``. A subgroup holding a single class gets NaN AUROC/AUPRC (and NaN for
the rates it has no denominator for) with a note, and is left out of the equalised-odds
difference (its true- or false-positive rate does not exist), also with a note.

Survival models: :func:`audit_survival_subgroups` gives the same document with the survival
metrics of :mod:`omnifuse.evaluation.survival_metrics` per subgroup (Harrell's C first; the
censoring distribution and horizons stay those of the whole evaluation, so subgroups are
scored on one scale) and event / censored counts instead of class counts; by default only
the C-index gets a bootstrap interval (the IPCW metrics' values come without one: cost).

``n_boot=0`` gives the values only (intervals NaN): a benchmark's k-fold summarises the
per-fold values over folds instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from pydantic import BaseModel, Field

from omnifuse.errors import ConfigError
from omnifuse.evaluation.metrics import METRICS, as_arrays, compute_metrics
from omnifuse.evaluation.survival_metrics import (
    SURVIVAL_METRICS,
    SurvivalPredictions,
    compute_survival_metrics,
    survival_bootstrap_all,
)
from omnifuse.trust._bootstrap import MetricFn, intervals
from omnifuse.trust.operating_points import binary_metric_fns, check_threshold, decision_task, multiclass_metric_fns
from omnifuse.utils.jsonio import to_jsonable

MISSING = "(missing)"
ALL = "(all)"
#: Subgroups with fewer samples are audited but left out of the gaps and fairness differences
#: by ``evaluate --subgroups`` and ``benchmark --subgroups`` (``min_size``).
MIN_SUBGROUP_SIZE = 10


class MetricInterval(BaseModel):
    """A metric on the subgroup's samples and its bootstrap interval (NaN when undefined)."""

    value: float
    ci_low: float
    ci_high: float


class SubgroupResult(BaseModel):
    """One value of a subgroup column (or ``"(all)"``)."""

    level: str
    n: int
    class_counts: dict[str, int]
    metrics: dict[str, MetricInterval]
    notes: list[str] = Field(default_factory=list)


class MetricGap(BaseModel):
    """The largest difference of one metric between two subgroups of a column."""

    gap: float
    highest: str
    lowest: str


class FairnessSummary(BaseModel):
    """fairlearn's between-group differences at the operating point (binary tasks)."""

    equalized_odds_difference: float | None
    demographic_parity_difference: float | None
    by_group: dict[str, dict[str, float]]
    excluded: list[str] = Field(default_factory=list)
    too_small: list[str] = Field(default_factory=list, description="Left out: fewer samples than min_size.")


class ColumnAudit(BaseModel):
    column: str
    subgroups: list[SubgroupResult]
    gaps: dict[str, MetricGap]
    fairness: FairnessSummary | None = None
    notes: list[str] = Field(default_factory=list)


class SubgroupAudit(BaseModel):
    """The result document: JSON-safe through :meth:`to_dict` (NaN becomes null)."""

    task: str
    threshold: float | None
    n: int
    n_boot: int
    alpha: float
    overall: SubgroupResult
    columns: list[ColumnAudit]

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(self.model_dump())


def audit_subgroups(
    probs: np.ndarray,
    y: np.ndarray,
    subgroups: pd.DataFrame,
    threshold: float | None = None,
    columns: Sequence[str] | None = None,
    task: str | None = None,
    groups: Sequence[str] | np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    min_size: int = 0,
) -> SubgroupAudit:
    """Audit ``probs`` against ``y`` per subgroup.

    Args:
        probs: ``(n,)`` / ``(n, 2)`` binary or ``(n, K)`` multiclass probabilities.
        y: class indices.
        subgroups: one row per sample, in the same order (matched by position, not index).
        threshold: the binary operating point (choose it on validation samples with
            :func:`~omnifuse.trust.operating_points.choose_threshold`; 0.5 when None).
        columns: the subgroup columns to audit (default: all of ``subgroups``).
        groups: the patient of each sample, so intervals resample patients.
        n_boot: bootstrap resamples; 0 gives the values only (intervals NaN).
        min_size: subgroups with fewer samples are audited but left out of the gaps and the
            fairness differences (noted): five stays of unknown sex would otherwise set them.

    Raises:
        ConfigError: a column that does not exist (naming it and listing the available
            ones), or a row count that does not match (one line).
    """
    task = decision_task(probs, task)
    p, t = as_arrays(probs, y, task)
    if len(subgroups) != len(t):
        raise ConfigError(f"subgroups have {len(subgroups)} rows for {len(t)} samples")
    wanted = _check_columns(subgroups, columns)
    names = [str(c) for c in range(p.shape[1])] if class_names is None else [str(c) for c in class_names]
    thr = (0.5 if threshold is None else check_threshold(threshold)) if task == "binary" else None
    fns = binary_metric_fns(thr) if thr is not None else multiclass_metric_fns(names)
    metrics: list[str | MetricFn] = [*METRICS, *fns]
    patient = None if groups is None else np.asarray(groups).astype(str)
    if patient is not None and len(patient) != len(t):
        raise ConfigError(f"{len(patient)} patient groups for {len(t)} samples")

    def result(level: str, rows: np.ndarray) -> SubgroupResult:
        if n_boot:
            res = intervals(
                p[rows],
                t[rows],
                task,
                metrics,
                groups=None if patient is None else patient[rows],
                n_boot=n_boot,
                alpha=alpha,
                seed=seed,
            )
        else:
            res = _values(p[rows], t[rows], task, fns)
        counts = np.bincount(t[rows], minlength=p.shape[1])
        notes = []
        present = np.flatnonzero(counts)
        if len(present) == 1:
            notes.append(f"only class {names[present[0]]} present: AUROC and AUPRC are undefined (NaN)")
        return SubgroupResult(
            level=level,
            n=int(rows.sum()),
            class_counts=dict(zip(names, counts.tolist())),
            metrics={k: MetricInterval(**v) for k, v in res.items()},
            notes=notes,
        )

    overall = result(ALL, np.ones(len(t), dtype=bool))
    audits = []
    for col in wanted:
        levels = subgroup_levels(subgroups[col])
        subs = [result(level, levels == level) for level in sorted(set(levels.tolist()))]
        notes = [] if len(subs) > 1 else [f"a single subgroup ('{subs[0].level}'): nothing to compare"]
        fairness = None
        if thr is not None:
            fairness = _fairness(t, (p[:, 1] >= thr).astype(np.int64), levels, min_size)
            single = [lv for lv in fairness.excluded if lv not in fairness.too_small]
            if single:
                notes.append(f"left out of the equalised-odds difference (a single class): {', '.join(single)}")
        else:
            notes.append("equalised-odds and demographic-parity differences are for binary decisions")
        small = [s.level for s in subs if s.n < min_size]
        if small:
            notes.append(
                f"left out of the gaps and fairness differences (fewer than {min_size} samples): {', '.join(small)}"
            )
        audits.append(
            ColumnAudit(column=col, subgroups=subs, gaps=_gaps(subs, min_size), fairness=fairness, notes=notes)
        )
    return SubgroupAudit(
        task=task, threshold=thr, n=int(len(t)), n_boot=n_boot, alpha=alpha, overall=overall, columns=audits
    )


def _values(p: np.ndarray, t: np.ndarray, task: str, fns: Sequence[MetricFn]) -> dict[str, dict[str, float]]:
    """Every metric on the samples, without an interval."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a single-class subgroup: NaN AUROC/AUPRC, noted by the caller
        values = compute_metrics(p, t, task) | {str(getattr(f, "__name__", f)): float(f(p, t)) for f in fns}
    nan = float("nan")
    return {k: {"value": float(v), "ci_low": nan, "ci_high": nan} for k, v in values.items()}


def audit_survival_subgroups(
    pred: SurvivalPredictions,
    subgroups: pd.DataFrame,
    columns: Sequence[str] | None = None,
    metrics: Sequence[str] = SURVIVAL_METRICS,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    interval_metrics: Sequence[str] = ("c_index",),
) -> SubgroupAudit:
    """Audit survival predictions per subgroup: ``metrics`` (Harrell's ``c_index``, ...) of
    ``pred.rows(subgroup)``, those of ``interval_metrics`` with a bootstrap over patients
    (``pred.groups``, stratified by event), the largest gaps; no fairness differences (there
    is no decision).

    Only the C-index gets an interval by default: the IPCW metrics (Uno's C, time-dependent
    AUC, integrated Brier score) go through scikit-survival's checks at ~20 ms per resample
    each, minutes for 500 resamples of every subgroup of a few hundred patients; pass
    ``interval_metrics=SURVIVAL_METRICS`` for all of them.

    Raises:
        ConfigError: as :func:`audit_subgroups`.
    """
    if len(subgroups) != len(pred):
        raise ConfigError(f"subgroups have {len(subgroups)} rows for {len(pred)} samples")
    wanted = _check_columns(subgroups, columns)

    def result(level: str, rows: np.ndarray) -> SubgroupResult:
        part = pred.rows(np.flatnonzero(rows))
        nan = float("nan")
        values = compute_survival_metrics(part, metrics, warn=False)
        res = {m: {"value": v, "ci_low": nan, "ci_high": nan} for m, v in values.items()}
        booted = [m for m in metrics if m in interval_metrics]
        if n_boot and booted:
            for m, v in survival_bootstrap_all(part, booted, n_boot=n_boot, alpha=alpha, seed=seed).items():
                res[m].update(ci_low=v["ci_low"], ci_high=v["ci_high"])
        events = int(part.event.sum())
        notes = [] if events else ["no event: the concordance is undefined (NaN)"]
        return SubgroupResult(
            level=level,
            n=len(part),
            class_counts={"events": events, "censored": len(part) - events},
            metrics={k: MetricInterval(**v) for k, v in res.items()},
            notes=notes,
        )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined metrics of small subgroups are NaN, noted
        overall = result(ALL, np.ones(len(pred), dtype=bool))
        audits = []
        for col in wanted:
            levels = subgroup_levels(subgroups[col])
            subs = [result(level, levels == level) for level in sorted(set(levels.tolist()))]
            notes = [] if len(subs) > 1 else [f"a single subgroup ('{subs[0].level}'): nothing to compare"]
            audits.append(ColumnAudit(column=col, subgroups=subs, gaps=_gaps(subs), notes=notes))
    return SubgroupAudit(
        task="survival", threshold=None, n=len(pred), n_boot=n_boot, alpha=alpha, overall=overall, columns=audits
    )


def _check_columns(subgroups: pd.DataFrame, columns: Sequence[str] | None) -> list[str]:
    available = [str(c) for c in subgroups.columns]
    wanted = available if columns is None else [str(c) for c in columns]
    for col in wanted:
        if col not in available:
            raise ConfigError(f"subgroup column '{col}' not found (available: {', '.join(available) or 'none'})")
    return wanted


def subgroup_levels(column: pd.Series) -> np.ndarray:
    """Each value of ``column`` as the subgroup it is in (a string; missing: ``"(missing)"``)."""
    values = column.to_numpy(dtype=object)
    return np.array([MISSING if _is_missing(v) else str(v) for v in values], dtype=object)


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _gaps(subs: list[SubgroupResult], min_size: int = 0) -> dict[str, MetricGap]:
    out = {}
    for metric in subs[0].metrics if subs else []:
        values = [
            (s.metrics[metric].value, s.level) for s in subs if np.isfinite(s.metrics[metric].value) and s.n >= min_size
        ]
        if len(values) < 2:
            continue
        (high, hi_level), (low, lo_level) = max(values), min(values)
        out[metric] = MetricGap(gap=float(high - low), highest=hi_level, lowest=lo_level)
    return out


def _fairness(t: np.ndarray, pred: np.ndarray, levels: np.ndarray, min_size: int = 0) -> FairnessSummary:
    small = sorted(lv for lv in set(levels.tolist()) if np.sum(levels == lv) < min_size)
    both = [lv for lv in sorted(set(levels.tolist())) if len(np.unique(t[levels == lv])) == 2 and lv not in small]
    excluded = sorted(set(levels.tolist()) - set(both))
    sized = ~np.isin(levels, small)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's zero-division warnings for single-class groups
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
            },
            y_true=t,
            y_pred=pred,
            sensitive_features=pd.Series(levels, name="subgroup"),
        )
        dp = (
            demographic_parity_difference(t[sized], pred[sized], sensitive_features=levels[sized])
            if len(set(levels[sized].tolist())) > 1
            else None
        )
        keep = np.isin(levels, both)
        eo = equalized_odds_difference(t[keep], pred[keep], sensitive_features=levels[keep]) if len(both) > 1 else None
    by_group: dict[str, dict[str, float]] = {}
    for level, row in frame.by_group.iterrows():
        rates = {k: float(v) for k, v in row.items()}
        classes = set(np.unique(t[levels == level]).tolist())
        if 1 not in classes:
            rates["true_positive_rate"] = float("nan")
        if 0 not in classes:
            rates["false_positive_rate"] = float("nan")
        by_group[str(level)] = rates
    return FairnessSummary(
        equalized_odds_difference=None if eo is None else float(eo),
        demographic_parity_difference=None if dp is None else float(dp),
        by_group=by_group,
        excluded=excluded,
        too_small=small,
    )
