"""Subgroup audits through a benchmark: every metric per subgroup on each repeat's test samples.

:class:`SubgroupCollector` is an ``on_repeat`` hook of
:func:`omnifuse.evaluation.benchmark.run_benchmark`, like
:class:`~omnifuse.trust.decisions.OperatingPointCollector` (the CLI wires it in and writes its
summary into ``results.json`` with :meth:`SubgroupCollector.apply`). Each repeat's test
samples are audited with :func:`~omnifuse.trust.subgroups.audit_subgroups` (survival:
:func:`~omnifuse.trust.subgroups.audit_survival_subgroups`), binary decisions at the
threshold chosen on that repeat's validation samples only.

Intervals follow the benchmark's protocol, so a subgroup's numbers read like the benchmark
table's:

* k-fold: each fold's subgroup is scored on its own and the values are summarised over
  folds (x seeds) with a Student-t interval, as every other k-fold metric. Pooling the
  out-of-fold predictions was the alternative; it was not chosen because each fold has its
  own validation-chosen threshold (pooled decisions would mix operating points) and its
  own model (a pooled AUROC would also rank one fold's probabilities against another's).
  The price: a small subgroup can hold a single class in some fold, where its AUROC is
  undefined and left out of the summary (noted).
* a fixed test split: per seed, a bootstrap over the test patients at that seed's
  threshold, the interval bounds averaged over seeds.

A subgroup with fewer than :data:`~omnifuse.trust.subgroups.MIN_SUBGROUP_SIZE` test samples in
a repeat is scored but left out of that repeat's fairness differences, and of the gaps when
that happens in any repeat (noted).

``n`` and the class counts of a subgroup count its distinct test samples over all repeats
(k-fold: every sample of the cohort once; a fixed split: the test split), so the counts of a
column's subgroups add up to the samples tested. The largest gap of a metric is between
the subgroup means; the equalised-odds and demographic-parity differences (fairlearn, at
each repeat's operating point) are summarised over repeats like a metric (on a fixed test
split: their bootstrap over the test patients, :func:`fairness_intervals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents import (
    MetricSummary,
    ResultsDocument,
    SubgroupBenchmarkResult,
    SubgroupColumnResult,
    SubgroupGap,
    SubgroupSummary,
)
from omnifuse.evaluation.statistics import mean_ci, summarize
from omnifuse.evaluation.survival_metrics import predict_survival
from omnifuse.tasks import SINGLE_LABEL_TASKS
from omnifuse.trust.operating_points import Rule, choose_threshold, parse_rule
from omnifuse.trust.subgroups import (
    ALL,
    MIN_SUBGROUP_SIZE,
    SubgroupAudit,
    audit_subgroups,
    audit_survival_subgroups,
    subgroup_levels,
)

#: Tasks a benchmark can audit per subgroup.
SUBGROUP_TASKS: tuple[str, ...] = (*SINGLE_LABEL_TASKS, "survival")


def check_subgroup_task(task: str, option: str = "--subgroups") -> None:
    """A one-line ConfigError naming ``option`` when ``task`` has no subgroup audit (multilabel)."""
    if task not in SUBGROUP_TASKS:
        raise ConfigError(f"{option}: not supported for {task} tasks (binary, multiclass and survival are)")


class SubgroupCollector:
    """Collects, per method and repeat, the subgroup audit of the test samples.

    Args:
        ds: the benchmarked dataset.
        frame: one row per sample of ``ds`` (its order), one column per subgroup column
            (:func:`omnifuse.trust.decisions.subgroup_frame`).
        rule: binary tasks' threshold rule, chosen on each repeat's validation samples.
        n_boot: > 0 on a fixed test split (a bootstrap per repeat); 0 for k-fold.
    """

    def __init__(
        self, ds: MultimodalDataset, frame: pd.DataFrame, rule: str | Rule = "youden", n_boot: int = 0
    ) -> None:
        check_subgroup_task(ds.task)
        if len(frame) != len(ds):
            raise ConfigError(f"subgroups have {len(frame)} rows for {len(ds)} samples")
        self.ds = ds
        self.frame = frame.reset_index(drop=True)
        self.rule = parse_rule(rule) if ds.task == "binary" else None
        self.n_boot = n_boot
        self.audits: dict[str, list[SubgroupAudit]] = {}
        self.fairness_bounds: dict[str, list[list[dict[str, tuple[float, float]]]]] = {}
        self.tested: set[int] = set()

    def add(self, repeat: Any, fitted_by_name: Mapping[str, Any]) -> None:
        """The ``on_repeat`` hook: ``repeat`` has ``val``, ``test`` and ``seed``."""
        ds = self.ds
        test = np.asarray(repeat.test, dtype=np.int64)
        rows = self.frame.iloc[test].reset_index(drop=True)
        self.tested.update(test.tolist())
        for name, fitted in fitted_by_name.items():
            if ds.task == "survival":
                audit = audit_survival_subgroups(
                    predict_survival(fitted, test), rows, n_boot=self.n_boot, seed=int(repeat.seed)
                )
            else:
                audit = self._decision_audit(name, fitted, repeat, rows)
            self.audits.setdefault(name, []).append(audit)

    def _decision_audit(self, name: str, fitted: Any, repeat: Any, rows: pd.DataFrame) -> SubgroupAudit:
        """Binary / multiclass: the audit at the repeat's validation-chosen threshold (on a fixed
        split also the bootstrap bounds of its fairness differences, kept per column)."""
        ds, test, seed = self.ds, np.asarray(repeat.test, dtype=np.int64), int(repeat.seed)
        probs = fitted.predict_proba(test)
        threshold = None
        if self.rule is not None:  # chosen on the validation samples only
            threshold = choose_threshold(fitted.predict_proba(repeat.val), ds.y[repeat.val], self.rule)
        audit = audit_subgroups(
            probs, ds.y[test], rows, threshold=threshold, task=ds.task, groups=ds.groups[test],
            class_names=list(ds.class_names), n_boot=self.n_boot, seed=seed, min_size=MIN_SUBGROUP_SIZE,
        )  # fmt: skip
        if self.n_boot and audit.threshold is not None:
            decided = (np.asarray(probs).reshape(len(test), -1)[:, -1] >= audit.threshold).astype(np.int64)
            self.fairness_bounds.setdefault(name, []).append(
                [
                    fairness_intervals(
                        ds.y[test],
                        decided,
                        subgroup_levels(rows[c.column]),
                        ds.groups[test],
                        n_boot=self.n_boot,
                        seed=seed,
                        min_size=MIN_SUBGROUP_SIZE,
                    )  # fmt: skip
                    for c in audit.columns
                ]
            )
        return audit

    def result(self, name: str) -> SubgroupBenchmarkResult | None:
        """The summary of method ``name`` over its repeats (None when it was never added)."""
        audits = self.audits.get(name)
        if not audits:
            return None
        tested = np.array(sorted(self.tested), dtype=np.int64)
        bounds = self.fairness_bounds.get(name)
        columns = [
            self._column(audits, j, tested, None if bounds is None else [b[j] for b in bounds])
            for j in range(len(audits[0].columns))
        ]
        ci = (
            "percentile bootstrap over the test patients per seed, bounds averaged over seeds"
            if self.n_boot
            else "Student-t interval over folds (each fold's subgroup scored on its own)"
        )
        return SubgroupBenchmarkResult(rule=None if self.rule is None else str(self.rule), ci=ci, columns=columns)

    def apply(self, results: ResultsDocument) -> ResultsDocument:
        """``results`` with every collected method's ``subgroups`` filled in."""
        for name, method in results.methods.items():
            method.subgroups = self.result(name)
        return results

    def _column(
        self,
        audits: list[SubgroupAudit],
        j: int,
        tested: np.ndarray,
        bounds: list[dict[str, tuple[float, float]]] | None = None,
    ) -> SubgroupColumnResult:
        column = audits[0].columns[j].column
        per_repeat = [{s.level: s for s in a.columns[j].subgroups} for a in audits]
        levels = sorted({level for r in per_repeat for level in r})
        metrics = list(audits[0].overall.metrics)
        counts = _counts(self.ds, self.frame[column], tested)
        subgroups: list[SubgroupSummary] = []
        small: list[str] = []
        for level in levels:
            found = [r.get(level) for r in per_repeat]
            summary = {
                m: self._summary([s.metrics[m].value if s else np.nan for s in found],
                                 [(s.metrics[m].ci_low, s.metrics[m].ci_high) if s else (np.nan, np.nan) for s in found])
                for m in metrics
            }  # fmt: skip
            notes = list(dict.fromkeys(n for s in found if s for n in s.notes))
            absent = sum(s is None for s in found)
            if absent:
                notes.append(f"absent from the test samples of {absent} of {len(found)} repeats")
            if any(s is not None and s.n < MIN_SUBGROUP_SIZE for s in found):
                small.append(level)
            n, classes = counts.get(level, (0, {}))
            subgroups.append(SubgroupSummary(level=level, n=n, class_counts=classes, metrics=summary, notes=notes))
        notes = list(dict.fromkeys(n for a in audits for n in a.columns[j].notes))
        fair = [a.columns[j].fairness for a in audits]
        eo = dp = None
        rates: dict[str, dict[str, float | None]] = {}
        if any(f is not None for f in fair):
            eo = self._summary(
                [_nan(f.equalized_odds_difference if f else None) for f in fair],
                None if bounds is None else [b["equalized_odds_difference"] for b in bounds],
            )
            dp = self._summary(
                [_nan(f.demographic_parity_difference if f else None) for f in fair],
                None if bounds is None else [b["demographic_parity_difference"] for b in bounds],
            )
            for level in levels:
                kinds = sorted({k for f in fair if f and level in f.by_group for k in f.by_group[level]})
                rates[level] = {
                    k: _mean([f.by_group[level][k] for f in fair if f and level in f.by_group]) for k in kinds
                }
        return SubgroupColumnResult(
            column=column,
            subgroups=subgroups,
            gaps=_gaps([s for s in subgroups if s.level not in small]),
            equalized_odds_difference=eo,
            demographic_parity_difference=dp,
            rates=rates,
            notes=notes,
        )

    def _summary(self, values: Sequence[float], bounds: Sequence[tuple[float, float]] | None = None) -> MetricSummary:
        if self.n_boot and bounds is not None:
            low = _mean([b[0] for b in bounds])
            high = _mean([b[1] for b in bounds])
        else:
            _, lo, hi = mean_ci(list(values))
            low, high = float(lo), float(hi)
        return MetricSummary.model_validate(summarize(values) | {"ci_low": low, "ci_high": high})


def fairness_intervals(
    y: np.ndarray,
    decided: np.ndarray,
    levels: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    min_size: int = 0,
) -> dict[str, tuple[float, float]]:
    """Percentile intervals of the equalised-odds and demographic-parity differences of the
    binary decisions ``decided`` against ``y`` between the subgroups ``levels``, over
    ``n_boot`` resamples of the patients (``groups``; all their samples come along, not
    stratified). As fairlearn's ``equalized_odds_difference`` (the larger of the ranges of
    the true- and false-positive rates) among the subgroups holding both classes in the
    resample, and ``demographic_parity_difference`` (the range of the share called positive).
    Subgroups with fewer than ``min_size`` samples are left out, as in
    :func:`~omnifuse.trust.subgroups.audit_subgroups`.

    Both are a maximum over subgroups of differences: the bootstrap distribution of such a
    statistic sits above its value on the sample (resampling noise only widens ranges), so
    the point estimate lies near the interval's lower end; read the interval as the spread,
    not as centred on the estimate.
    """
    levels = np.asarray(levels).astype(str)
    names, sizes = np.unique(levels, return_counts=True)
    keep = np.isin(levels, names[sizes >= min_size])
    y, decided, levels = np.asarray(y, dtype=np.int64)[keep], np.asarray(decided, dtype=np.int64)[keep], levels[keep]
    groups = None if groups is None else np.asarray(groups)[keep]
    _, level = np.unique(np.asarray(levels).astype(str), return_inverse=True)
    _, patient = np.unique(
        np.asarray(groups if groups is not None else np.arange(len(y))).astype(str), return_inverse=True
    )
    n_levels, n_patients = int(level.max()) + 1 if len(y) else 0, int(patient.max()) + 1 if len(y) else 0
    cells = np.zeros((len(y), n_levels * 4))
    cells[np.arange(len(y)), level * 4 + y * 2 + decided] = 1.0  # (level, true, decided) one-hot
    rng = np.random.default_rng(seed)
    eo, dp = np.full(n_boot, np.nan), np.full(n_boot, np.nan)
    step = max(1, 2_000_000 // max(len(y), 1))
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        drawn = np.stack([np.bincount(rng.integers(0, n_patients, n_patients), minlength=n_patients) for _ in range(b)])
        counts = (drawn[:, patient].astype(np.float64) @ cells).reshape(b, n_levels, 2, 2)  # [b, level, y, decided]
        with np.errstate(invalid="ignore", divide="ignore"):
            positives, negatives = counts[:, :, 1].sum(axis=2), counts[:, :, 0].sum(axis=2)
            tpr, fpr = counts[:, :, 1, 1] / positives, counts[:, :, 0, 1] / negatives
            share = (counts[:, :, 1, 1] + counts[:, :, 0, 1]) / (positives + negatives)
        both = (positives > 0) & (negatives > 0)
        for k in range(b):
            keep, seen = both[k], positives[k] + negatives[k] > 0
            if keep.sum() > 1:
                eo[start + k] = max(np.ptp(tpr[k, keep]), np.ptp(fpr[k, keep]))
            if seen.sum() > 1:
                dp[start + k] = np.ptp(share[k, seen])

    def bounds(values: np.ndarray) -> tuple[float, float]:
        finite = values[np.isfinite(values)]
        if not finite.size:
            return float("nan"), float("nan")
        low, high = np.percentile(finite, [50 * alpha, 100 - 50 * alpha])
        return float(low), float(high)

    return {"equalized_odds_difference": bounds(eo), "demographic_parity_difference": bounds(dp)}


def _counts(ds: MultimodalDataset, column: pd.Series, tested: np.ndarray) -> dict[str, tuple[int, dict[str, int]]]:
    """Per level of ``column`` among the ``tested`` samples: their number and class counts."""
    levels = subgroup_levels(column.iloc[tested])
    out = {}
    for level in sorted(set(levels.tolist())):
        rows = tested[levels == level]
        if ds.task == "survival":
            events = int(np.asarray(ds.y["event"][rows], dtype=bool).sum())
            classes = {"events": events, "censored": len(rows) - events}
        else:
            found = np.bincount(ds.y[rows], minlength=len(ds.class_names))
            classes = {str(c): int(k) for c, k in zip(ds.class_names, found)}
        out[level] = (len(rows), classes)
    return out


def _gaps(subgroups: list[SubgroupSummary]) -> dict[str, SubgroupGap]:
    out = {}
    for metric in subgroups[0].metrics if subgroups else []:
        means = [(s.metrics[metric].mean, s.level) for s in subgroups if s.level != ALL]
        finite = [(v, level) for v, level in means if v is not None]
        if len(finite) < 2:
            continue
        (high, hi_level), (low, lo_level) = max(finite), min(finite)
        out[metric] = SubgroupGap(gap=high - low, highest=hi_level, lowest=lo_level)
    return out


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _mean(values: Sequence[float | None]) -> float:
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
