"""Survival metrics of a model's test predictions, their bootstrap and the metric names per task.

Metrics (:data:`SURVIVAL_METRICS`; the maths is :mod:`omnifuse.survival.metrics`):

* ``c_index`` — Harrell's concordance of the risk score (the headline metric);
* ``uno_c`` — Uno's IPCW concordance, truncated at the last evaluation horizon;
* ``time_auc`` — cumulative/dynamic AUC at the evaluation horizons, averaged (scikit-survival's
  mean weighted by the Kaplan-Meier estimate); scored on ``1 - S(t)`` at each horizon, which
  orders patients as the risk does for a Cox head;
* ``ibs`` — integrated Brier score of the survival curves (lower is better).

Uno's C, the time-dependent AUC and the Brier score weight by the inverse probability of
censoring, estimated on the **training fold** (train + validation samples of the model's split).
Evaluation times come from the training fold too: the horizons are the quartiles of its event
times (:func:`~omnifuse.survival.metrics.default_horizons`), the Brier grid runs between its
10% and 90% event-time quantiles (:func:`~omnifuse.survival.metrics.brier_times`), both clipped
into the test follow-up.

A metric that is undefined on some data (a fold without an event, no comparable pair, no
horizon inside the follow-up) is NaN with a :class:`SurvivalMetricWarning`, never an error.

The bootstrap resamples **patients** (``groups``) with replacement, stratified by whether the
patient has an event; every resample is scored at the evaluation times of the full test set
that lie inside its own follow-up. Same data, seed and options give the same resamples, so two
models' distributions on the same test set are paired.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from omnifuse.errors import ConfigError, DataError
from omnifuse.evaluation.comparisons import difference_pvalue
from omnifuse.evaluation.metrics import HIGHER_IS_BETTER, METRICS
from omnifuse.survival import metrics as sm

if TYPE_CHECKING:  # only for annotations: importing evaluation need not load the training stack
    from omnifuse.training.fit import FittedModel

SURVIVAL_METRICS: tuple[str, ...] = ("c_index", "uno_c", "time_auc", "ibs")
#: Whether a larger value of each survival metric is better (the Brier score is an error).
SURVIVAL_HIGHER_IS_BETTER: Mapping[str, bool] = MappingProxyType({m: m != "ibs" for m in SURVIVAL_METRICS})
#: Metrics compared pairwise between methods in a benchmark, per kind of task.
TESTED_METRICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"classification": ("auroc", "macro_f1"), "survival": ("c_index", "ibs")}
)


class SurvivalMetricWarning(UserWarning):
    """A survival metric is undefined on some data (it is NaN there)."""


def task_metrics(task: str) -> tuple[str, ...]:
    """The metrics computed for ``task``: :data:`SURVIVAL_METRICS` or the classification ``METRICS``."""
    return SURVIVAL_METRICS if task == "survival" else METRICS


def tested_metrics(task: str) -> tuple[str, ...]:
    """The metrics a benchmark compares methods on (paired tests)."""
    return TESTED_METRICS["survival" if task == "survival" else "classification"]


def headline_metric(task: str) -> str:
    """The metric methods are ranked by: ``c_index`` for survival, ``auroc`` otherwise."""
    return "c_index" if task == "survival" else "auroc"


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` is better (classification or survival metric)."""
    if metric in SURVIVAL_HIGHER_IS_BETTER:
        return SURVIVAL_HIGHER_IS_BETTER[metric]
    if metric in HIGHER_IS_BETTER:
        return HIGHER_IS_BETTER[metric]
    raise ConfigError(f"unknown metric '{metric}' (valid: {', '.join((*METRICS, *SURVIVAL_METRICS))})")


def check_task_metric(metric: str, task: str) -> str:
    """``metric`` if it is one of ``task``'s metrics."""
    valid = task_metrics(task)
    if metric not in valid:
        raise ConfigError(f"unknown metric '{metric}' for {task} tasks (valid: {', '.join(valid)})")
    return metric


@dataclass(frozen=True)
class SurvivalPredictions:
    """A model's predictions for ``n`` test samples with what scoring them needs.

    Attributes:
        time, event: the test samples' outcomes ``(n,)``.
        risk: ``(n,)`` risk scores (higher: the event is expected sooner).
        horizons: ``(H,)`` evaluation horizons (time-dependent AUC, Uno's truncation).
        horizon_survival: ``(n, H)`` survival probabilities at ``horizons``.
        brier_times: ``(T,)`` the integrated Brier score's grid (empty when undefined).
        brier_survival: ``(n, T)`` survival probabilities at ``brier_times``.
        train_time, train_event: outcomes of the training fold (the censoring distribution).
        groups: ``(n,)`` patient of each sample (the bootstrap resamples patients).
    """

    time: np.ndarray
    event: np.ndarray
    risk: np.ndarray
    horizons: np.ndarray
    horizon_survival: np.ndarray
    brier_times: np.ndarray
    brier_survival: np.ndarray
    train_time: np.ndarray
    train_event: np.ndarray
    groups: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def rows(self, index: np.ndarray) -> "SurvivalPredictions":
        """The predictions of samples ``index`` (repeats allowed: a bootstrap resample)."""
        return replace(
            self,
            time=self.time[index],
            event=self.event[index],
            risk=self.risk[index],
            horizon_survival=self.horizon_survival[index],
            brier_survival=self.brier_survival[index],
            groups=self.groups[index],
        )


def evaluation_times(
    train_time: np.ndarray, train_event: np.ndarray, test_time: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(horizons, brier_times)`` of a test set; an empty array where there is none."""
    try:
        horizons = sm.default_horizons(train_time, train_event, test_time)
    except DataError:
        horizons = np.zeros(0)
    try:
        grid = sm.brier_times(train_time, train_event, test_time)
    except DataError:
        grid = np.zeros(0)
    return horizons, grid


def training_outcomes(fitted: FittedModel) -> np.ndarray | None:
    """The outcomes of the samples ``fitted`` was trained and early-stopped on (None when its
    context has none, e.g. a model loaded from a bundle)."""
    context = fitted.context
    parts = [context.train] + ([context.val] if context.val is not None else [])
    index = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
    if not len(index):
        return None
    return context.dataset.y[index]


def predict_survival(
    fitted: FittedModel,
    index: np.ndarray,
    train_y: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> SurvivalPredictions:
    """Risks and survival curves of ``fitted`` for positions ``index`` of its dataset.

    ``train_y`` (structured ``time``/``event``) is the training fold's outcomes; default
    :func:`training_outcomes` of ``fitted``, and when it has none (a bundle) the evaluated
    samples themselves (their own censoring distribution). ``groups`` default to the dataset's.
    """
    index = np.asarray(index, dtype=np.int64)
    ds = fitted.context.dataset
    if ds.task != "survival":
        raise ConfigError(f"survival metrics need a survival dataset, got a {ds.task} one")
    y = ds.y[index]
    if train_y is None:
        train_y = training_outcomes(fitted)
    if train_y is None:
        train_y = y
    time = np.asarray(y["time"], dtype=np.float64)
    event = np.asarray(y["event"], dtype=bool)
    train_time = np.asarray(train_y["time"], dtype=np.float64)
    train_event = np.asarray(train_y["event"], dtype=bool)
    horizons, grid = evaluation_times(train_time, train_event, time) if len(index) else (np.zeros(0), np.zeros(0))
    readout = fitted.readout
    if readout is None:
        raise ConfigError(f"model '{fitted.name}' has no survival readout")
    outputs = fitted.predict_proba(index)
    risk = readout.risk(outputs) if len(index) else np.zeros(0)
    at = np.concatenate([horizons, grid])
    if not len(index) or not len(at):
        curves = np.ones((len(index), len(at)))
    elif readout.head == "estimator":
        curves = fitted.predict_survival(index, at)
    else:
        curves = readout.survival(outputs, at)
    curves = np.asarray(curves, dtype=np.float64)
    return SurvivalPredictions(
        time=time,
        event=event,
        risk=np.asarray(risk, dtype=np.float64).reshape(-1),
        horizons=horizons,
        horizon_survival=curves[:, : len(horizons)],
        brier_times=grid,
        brier_survival=curves[:, len(horizons) :],
        train_time=train_time,
        train_event=train_event,
        groups=np.asarray(ds.groups[index]) if groups is None else np.asarray(groups),
    )


def compute_survival_metrics(
    pred: SurvivalPredictions, metrics: Sequence[str] = SURVIVAL_METRICS, warn: bool = True
) -> dict[str, float]:
    """Every metric of ``metrics`` on ``pred``; an undefined one is NaN (with a
    :class:`SurvivalMetricWarning` unless ``warn`` is False). Times outside ``pred``'s own
    follow-up are left out (a bootstrap resample may not reach every horizon)."""
    out: dict[str, float] = {}
    for metric in metrics:
        if metric not in SURVIVAL_METRICS:
            raise ConfigError(f"unknown survival metric '{metric}' (valid: {', '.join(SURVIVAL_METRICS)})")
        problem = "no defined value (e.g. no event before a horizon)"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 inside scikit-survival: NaN, reported below
                out[metric] = float(_metric(metric, pred))
        except (DataError, ValueError) as exc:  # ValueError: a scikit-survival check omnifuse.survival lets through
            out[metric], problem = float("nan"), str(exc)
        if warn and not np.isfinite(out[metric]):
            warnings.warn(f"{metric} is undefined (NaN): {problem}", SurvivalMetricWarning, stacklevel=2)
    return out


def _inside(pred: SurvivalPredictions, times: np.ndarray) -> np.ndarray:
    """Which ``times`` lie where IPCW is defined for ``pred``'s samples."""
    if not len(pred.time) or not len(times):
        return np.zeros(len(times), dtype=bool)
    high = min(float(pred.time.max()), float(pred.train_time.max()))
    return (times >= float(pred.time.min())) & (times < high)


def _metric(metric: str, pred: SurvivalPredictions) -> float:
    if len(pred.time) < 2:
        raise DataError(f"{len(pred.time)} test sample(s): a concordance needs at least two")
    if metric == "c_index":
        return sm.harrell_c(pred.time, pred.event, pred.risk)
    keep = _inside(pred, pred.horizons)
    if metric in ("uno_c", "time_auc") and not keep.any():
        raise DataError("no evaluation horizon inside the test follow-up")
    if metric == "uno_c":
        tau = float(pred.horizons[keep][-1])
        return sm.uno_c(pred.train_time, pred.train_event, pred.time, pred.event, pred.risk, tau=tau)
    if metric == "time_auc":
        risk = 1.0 - pred.horizon_survival[:, keep]
        time, event = _censored_after(pred, pred.horizons[keep])
        return sm.time_auc(pred.train_time, pred.train_event, time, event, risk, pred.horizons[keep]).mean
    keep = _inside(pred, pred.brier_times)
    if keep.sum() < 2:
        raise DataError("the Brier grid leaves fewer than two times inside the test follow-up")
    time, event = _censored_after(pred, pred.brier_times[keep])
    return sm.integrated_brier(
        pred.train_time, pred.train_event, time, event, pred.brier_survival[:, keep], pred.brier_times[keep]
    )


def _censored_after(pred: SurvivalPredictions, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Test outcomes with every time past the last evaluation time censored just after it.

    The time-dependent AUC and the Brier score at times ``t`` only ask of such a sample that
    it is event-free at every ``t`` (a control, or still at risk), which stays true; but
    scikit-survival weighs every observed event by the inverse censoring probability at its
    time, undefined past the training fold's last time (a test event after the training
    follow-up would make the whole metric fail).
    """
    high = min(float(pred.time.max()), float(pred.train_time.max()))
    last = float(times.max())
    cap = last + 0.5 * (high - last)
    late = pred.time > cap
    return np.where(late, cap, pred.time), pred.event & ~late


# ---------------------------------------------------------------------- bootstrap
def patient_resamples(
    groups: np.ndarray, event: np.ndarray, n_boot: int, seed: int = 0, stratified: bool = True
) -> list[np.ndarray]:
    """``n_boot`` resamples of the samples' positions, drawing patients with replacement (all
    samples of a drawn patient come along); with ``stratified`` patients with and without an
    event are drawn separately, each keeping its count."""
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    groups = np.asarray(groups)
    names, inverse = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(inverse == g) for g in range(len(names))]
    has_event = np.array([bool(np.asarray(event)[m].any()) for m in members], dtype=bool)
    strata = [np.flatnonzero(has_event), np.flatnonzero(~has_event)] if stratified else [np.arange(len(names))]
    strata = [s for s in strata if len(s)]
    single = all(len(m) == 1 for m in members)
    first = np.array([m[0] for m in members], dtype=np.int64)
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for _ in range(n_boot):
        parts = [s[rng.integers(0, len(s), size=len(s))] for s in strata]
        chosen = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        if single or not len(chosen):
            out.append(first[chosen])
        else:
            out.append(np.concatenate([members[g] for g in chosen]))
    return out


def survival_bootstrap_distribution(
    pred: SurvivalPredictions,
    metrics: Sequence[str] = SURVIVAL_METRICS,
    n_boot: int = 1000,
    seed: int = 0,
    stratified: bool = True,
) -> dict[str, np.ndarray]:
    """Value of each metric on each of ``n_boot`` patient resamples (NaN where undefined)."""
    out = {m: np.full(n_boot, np.nan) for m in metrics}
    if not len(pred):
        return out
    for b, rows in enumerate(patient_resamples(pred.groups, pred.event, n_boot, seed, stratified)):
        for m, v in compute_survival_metrics(pred.rows(rows), metrics, warn=False).items():
            out[m][b] = v
    return out


def survival_bootstrap_all(
    pred: SurvivalPredictions,
    metrics: Sequence[str] = SURVIVAL_METRICS,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    stratified: bool = True,
) -> dict[str, dict[str, float]]:
    """``{metric: {"mean", "ci_low", "ci_high"}}``: the point estimate on all samples and the
    percentile interval of the finite bootstrap values (NaN when there are none)."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    point = compute_survival_metrics(pred, metrics)
    dist = survival_bootstrap_distribution(pred, metrics, n_boot, seed, stratified)
    out: dict[str, dict[str, float]] = {}
    for m in metrics:
        vals = dist[m][np.isfinite(dist[m])]
        low, high = np.percentile(vals, [50 * alpha, 100 - 50 * alpha]) if vals.size else (np.nan, np.nan)
        out[m] = {"mean": point[m], "ci_low": float(low), "ci_high": float(high)}
    return out


def survival_paired_bootstrap_pvalue(
    preds_a: Sequence[SurvivalPredictions],
    preds_b: Sequence[SurvivalPredictions],
    metric: str,
    n_boot: int = 1000,
    seed: int = 0,
) -> float:
    """Two-sided p-value that ``metric`` differs between two methods on one test set (as
    :func:`omnifuse.evaluation.comparisons.paired_bootstrap_pvalue`: both scored on the same
    patient resamples per training seed, differences pooled)."""
    diffs = []
    for k, (pa, pb) in enumerate(zip(preds_a, preds_b)):
        da = survival_bootstrap_distribution(pa, [metric], n_boot, seed + k)[metric]
        db = survival_bootstrap_distribution(pb, [metric], n_boot, seed + k)[metric]
        diffs.append(da - db)
    return difference_pvalue(diffs)


def nan_metrics(task: str) -> dict[str, float]:
    """NaN for every metric of ``task`` (nothing to score)."""
    return {m: float("nan") for m in task_metrics(task)}
