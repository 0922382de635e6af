"""Robustness sweeps: trained models scored on corrupted versions of their test sets.

Every model of a repeat (fold, seed or trained run) sees the *same* corrupted test sets
(paired comparisons); corruptions touch test samples only, and the training standardisation
is kept. Random conditions are drawn ``draws`` times and averaged.

Intervals: over repeats (folds x seeds) a Student-t interval of the per-repeat values;
with a single test set (holdout, trained runs) a percentile bootstrap over its samples,
averaged over draws and seeds, as in :mod:`omnifuse.evaluation.benchmark`.

Models with conformal prediction sets (``--set conformal=0.9``) are also scored on
``coverage`` and ``set_size`` under every condition (:mod:`omnifuse.evaluation.set_metrics`),
with the same intervals: each test sample gets the threshold of the availability pattern it
has *after* the corruption (dropped modalities move it to another pattern's threshold, or to
the pooled one). They are left out of the robustness summaries (coverage has a target,
not a direction).

Survival cohorts are scored with :mod:`omnifuse.evaluation.survival_metrics` (Harrell's C
first; censoring distribution and horizons from each model's training fold), their bootstrap
resampling patients.

Summary metrics (MultiBench, Liang et al. 2021, adapted to any metric):

* relative robustness of a curve = area under the metric-vs-level curve divided by the
  level range, i.e. the mean performance across levels (level 0 = clean included);
* effective robustness against a baseline = the same area of the method's change from its
  own clean score minus the baseline's change, signed so that positive always means
  "degrades more slowly than the baseline" (also for brier and ece, where lower is better).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, cast

import numpy as np

from omnifuse.data.corrupt import apply_corruptions
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.tasks import TaskName
from omnifuse.evaluation.conditions import CLEAN, Condition, level_key
from omnifuse.evaluation.documents import (
    EffectiveRobustness,
    Levels,
    MethodRobustness,
    RobustnessDocument,
    RobustnessSummary,
)
from omnifuse.evaluation.metrics import METRICS, compute_metrics
from omnifuse.evaluation.set_metrics import SET_METRICS, prediction_sets, set_bootstrap, set_metrics
from omnifuse.evaluation.statistics import bootstrap_all, mean_ci
from omnifuse.evaluation.survival_metrics import (
    SURVIVAL_METRICS,
    compute_survival_metrics,
    higher_is_better,
    nan_metrics,
    predict_survival,
    survival_bootstrap_all,
    task_metrics,
    training_outcomes,
)
from omnifuse.training.fit import FittedModel

MetricDict = dict[str, float]
#: Where a metric can lie: Student-t intervals are clipped to it.
METRIC_RANGE: dict[str, tuple[float, float]] = {m: (0.0, 1.0) for m in METRICS if m not in ("kappa", "brier")}
METRIC_RANGE.update({"kappa": (-1.0, 1.0), "brier": (0.0, 2.0)})
METRIC_RANGE.update({m: (0.0, 1.0) for m in SURVIVAL_METRICS})
METRIC_RANGE.update({"coverage": (0.0, 1.0), "set_size": (0.0, np.inf)})


class RobustnessSweep:
    """Collects metrics of fitted models under every condition, repeat by repeat.

    Args:
        dataset: the full cohort (test samples are taken from it by index).
        conditions: from :func:`omnifuse.evaluation.conditions.plan_conditions`.
        draws: draws of each random condition (averaged).
        seed: seed of the corruption draws (shared by all methods: paired).
        bootstrap: percentile-bootstrap intervals on the test set (single test set)
            instead of Student-t intervals over repeats.
        n_boot: bootstrap resamples.
    """

    def __init__(
        self,
        dataset: MultimodalDataset,
        conditions: Sequence[Condition],
        draws: int = 3,
        seed: int = 0,
        bootstrap: bool = False,
        n_boot: int = 200,
    ) -> None:
        self.dataset = dataset
        self.conditions = list(conditions)
        self.draws = max(1, int(draws))
        self.seed = seed
        self.bootstrap = bootstrap
        self.n_boot = n_boot
        self.n_repeats = 0
        # (method, path) -> per repeat: list over draws of metric dicts (and bootstrap dicts)
        self._values: dict[tuple[str, tuple[str, ...]], list[list[MetricDict]]] = defaultdict(list)
        self._boots: dict[tuple[str, tuple[str, ...]], list[dict[str, MetricDict]]] = defaultdict(list)
        self.sample_counts: dict[tuple[str, ...], int] = {}
        self.methods: list[str] = []
        self.metrics: tuple[str, ...] = task_metrics(dataset.task)
        #: method -> target coverage of its conformal sets (methods without sets are absent)
        self.conformal: dict[str, float] = {}

    def evaluate(self, fitted: Mapping[str, FittedModel], test: np.ndarray) -> None:
        """Score every model of one repeat on every condition of the test samples ``test``."""
        for name, model in fitted.items():
            if name not in self.methods:
                self.methods.append(name)
            if model.conformal is not None and self.dataset.task != "survival":
                self.conformal[name] = model.conformal.coverage
        clean = self.dataset.subset(np.asarray(test, dtype=np.int64))
        repeat = self.n_repeats
        self.n_repeats += 1
        for c, condition in enumerate(self.conditions):
            per_draw: dict[str, list[MetricDict]] = {name: [] for name in fitted}
            for draw in range(self.draws if condition.random else 1):
                rng = np.random.default_rng([self.seed, repeat, c, draw])
                data = apply_corruptions(clean, condition.corruptions, rng)
                keep = data.mask.any(axis=1)  # a sample left with no modality cannot be scored
                if not keep.all():
                    data = data.subset(np.flatnonzero(keep))
                self.sample_counts[condition.path] = self.sample_counts.get(condition.path, 0) + len(data)
                for name, metrics in self._score(
                    fitted, data, seed=(self.seed * 1_000_003 + repeat * 10_007 + c * 101 + draw) % 2**31
                ).items():
                    per_draw[name].append(metrics["point"])
                    if "boot" in metrics:
                        self._boots[(name, condition.path)].append(metrics["boot"])
            for name, draws in per_draw.items():
                self._values[(name, condition.path)].append(draws)

    def _score(
        self, fitted: Mapping[str, FittedModel], data: MultimodalDataset, seed: int
    ) -> dict[str, dict[str, Any]]:
        nan = nan_metrics(data.task)
        if len(data) == 0:
            return {name: {"point": dict(nan) | self._nan_sets(name)} for name in fitted}
        contexts: dict[int, Any] = {}  # models sharing a scaler share the collated test tensors
        out = {}
        index = np.arange(len(data))
        for name, model in fitted.items():
            key = id(model.context.scaler)
            on_data = model.on_samples(data, contexts.get(key))
            contexts[key] = on_data.context
            if data.task == "survival":  # censoring distribution of the model's own training fold
                pred = predict_survival(on_data, index, train_y=training_outcomes(model))
                entry_s: dict[str, Any] = {"point": compute_survival_metrics(pred)}
                if self.bootstrap:
                    entry_s["boot"] = survival_bootstrap_all(pred, n_boot=self.n_boot, seed=seed)
                out[name] = entry_s
                continue
            probs = on_data.predict_proba(index)
            entry: dict[str, Any] = {"point": compute_metrics(probs, data.y, data.task)}
            if self.bootstrap:
                entry["boot"] = bootstrap_all(probs, data.y, data.task, n_boot=self.n_boot, seed=seed)
            sets = prediction_sets(model, probs, data.pattern_names())  # patterns after the corruption
            if sets is not None:
                entry["point"] |= set_metrics(sets, data.y)
                if self.bootstrap:
                    entry["boot"] |= set_bootstrap(sets, data.y, data.task, n_boot=self.n_boot, seed=seed)
            out[name] = entry
        return out

    def _nan_sets(self, name: str) -> MetricDict:
        return {m: float("nan") for m in SET_METRICS} if name in self.conformal else {}

    def cell_metrics(self, method: str) -> tuple[str, ...]:
        """The metrics recorded for ``method``: the task's, then the set metrics when it has sets."""
        return self.metrics + (SET_METRICS if method in self.conformal else ())

    # ------------------------------------------------------------------ aggregation
    def cell(self, method: str, path: tuple[str, ...]) -> dict[str, dict[str, float]]:
        """``{metric: {"mean", "ci_low", "ci_high"}}`` of one method under one condition."""
        repeats = self._values.get((method, path), [])
        names = self.cell_metrics(method)
        per_repeat = {
            m: np.array(
                [
                    np.nanmean([d.get(m, np.nan) for d in draws]) if _any_finite(draws, m) else np.nan
                    for draws in repeats
                ]
            )
            for m in names
        }
        out = {}
        for m in names:
            values = per_repeat[m]
            mean = float(np.nanmean(values)) if np.isfinite(values).any() else float("nan")
            if self.bootstrap:
                boots = self._boots.get((method, path), [])
                low = _nanmean([b[m]["ci_low"] for b in boots if m in b])
                high = _nanmean([b[m]["ci_high"] for b in boots if m in b])
            else:
                # values is 1-d, so mean_ci gives three floats
                _, low, high = map(float, mean_ci(values)) if len(values) else (mean, float("nan"), float("nan"))
            lo, hi = METRIC_RANGE.get(m, (-np.inf, np.inf))
            out[m] = {"mean": mean, "ci_low": float(np.clip(low, lo, hi)), "ci_high": float(np.clip(high, lo, hi))}
        return out

    def method_curves(self, method: str) -> dict[str, Any]:
        """The curves of one method: ``{"clean", "missing", "patterns", "noise"}`` as nested
        ``{..., level: {metric: {"mean", "ci_low", "ci_high"}}}`` (what the summaries are computed on)."""
        clean = self.cell(method, CLEAN)
        doc: dict[str, Any] = {"clean": clean, "missing": {}, "patterns": {}, "noise": {}}
        for condition in self.conditions:
            path = condition.path
            if path == CLEAN:
                continue
            cell = self.cell(method, path)
            if path[0] == "missing":
                doc["missing"].setdefault(path[1], {level_key(0.0): clean})[path[2]] = cell
            elif path[0] == "patterns":
                doc["patterns"][path[1]] = cell
            else:
                curve = doc["noise"].setdefault(path[1], {}).setdefault(path[2], {level_key(0.0): clean})
                curve[path[3]] = cell
        return doc

    def document(self, baseline: str | None = None, extra: dict[str, Any] | None = None) -> RobustnessDocument:
        """The ``robustness.json`` document (``extra`` sets further fields such as the protocol)."""
        curves = {name: self.method_curves(name) for name in self.methods}
        if baseline is not None and baseline not in curves:
            baseline = None
        methods = {
            name: MethodRobustness(
                **doc,
                conformal=self.conformal.get(name),
                relative_robustness=RobustnessSummary.model_validate(relative_robustness(doc)),
                effective_robustness=(
                    EffectiveRobustness.model_validate(
                        effective_robustness(doc, curves[baseline]) | {"baseline": baseline}
                    )
                    if baseline
                    else None
                ),
            )
            for name, doc in curves.items()
        }
        patterns = {path[1]: count for path, count in self.sample_counts.items() if path[0] == "patterns"}
        missing: list[float] = []
        noise: dict[str, list[float]] = {}
        for condition in self.conditions:
            if condition.path[0] == "missing" and float(condition.path[2]) not in missing:
                missing.append(float(condition.path[2]))
            if condition.path[0] == "noise":
                kinds = noise.setdefault(condition.path[2], [0.0])
                if float(condition.path[3]) not in kinds:
                    kinds.append(float(condition.path[3]))
        return RobustnessDocument(
            dataset=str(self.dataset.info.get("path", self.dataset.info.get("source", "in-memory"))),
            task=cast(TaskName, self.dataset.task),
            modalities=list(self.dataset.modalities),
            draws=self.draws,
            repeats=self.n_repeats,
            interval=(
                "percentile bootstrap on the test set, averaged over draws and seeds"
                if self.bootstrap
                else "Student-t interval over repeats (folds x seeds)"
            ),
            baseline=baseline,
            levels=Levels(missing=[0.0, *sorted(missing)], noise=noise),
            pattern_counts={k: int(round(v / max(1, self.n_repeats))) for k, v in patterns.items()},
            methods=methods,
            **(extra or {}),
        )


# ---------------------------------------------------------------------- summaries
def _curves(doc: Mapping[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    """Every level curve of a method document, keyed ``("missing", target)`` or
    ``("noise", modality, kind)``."""
    curves: dict[tuple[str, ...], dict[str, Any]] = {("missing", t): c for t, c in doc.get("missing", {}).items()}
    for modality, kinds in doc.get("noise", {}).items():
        curves.update({("noise", modality, kind): c for kind, c in kinds.items()})
    return curves


def _area(curve: Mapping[str, Any], metric: str, offset: Mapping[str, Any] | None = None) -> float:
    """Mean of the curve over its level range (trapezoid), NaN when any level is undefined."""
    levels = sorted(curve, key=float)
    x = np.array([float(k) for k in levels])
    y = np.array([curve[k][metric]["mean"] for k in levels], dtype=float)
    if offset is not None:
        y = y - np.array([offset[k][metric]["mean"] for k in levels], dtype=float)
    if len(x) < 2 or not np.isfinite(y).all() or x[-1] == x[0]:
        return float("nan")
    return float(np.trapezoid(y, x) / (x[-1] - x[0]))


def _nest(values: dict[tuple[str, ...], dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {"missing": {}, "noise": {}}
    for key, metrics in values.items():
        if key[0] == "missing":
            out["missing"][key[1]] = metrics
        else:
            out["noise"].setdefault(key[1], {})[key[2]] = metrics
    names = _doc_metrics(values.values())
    out["overall"] = {m: _nanmean([v[m] for v in values.values()]) for m in names} if values else {}
    return out


def _doc_metrics(cells: Any) -> tuple[str, ...]:
    """The metric names of some metric dicts: the survival metrics when they are there, else ``METRICS``."""
    return SURVIVAL_METRICS if any("c_index" in cell for cell in cells) else METRICS


def _curve_metrics(curves: Mapping[tuple[str, ...], Mapping[str, Any]]) -> tuple[str, ...]:
    return _doc_metrics(cell for curve in curves.values() for cell in curve.values())


def relative_robustness(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Area under each metric-vs-level curve over the level range, and their mean ("overall")."""
    curves = _curves(doc)
    names = _curve_metrics(curves)
    return _nest({key: {m: _area(curve, m) for m in names} for key, curve in curves.items()})


def effective_robustness(doc: Mapping[str, Any], baseline: Mapping[str, Any]) -> dict[str, Any]:
    """Area of (method change from clean) - (baseline change from clean); positive = more robust."""
    mine, theirs = _curves(doc), _curves(baseline)
    names = _curve_metrics(mine)
    values = {}
    for key, curve in mine.items():
        other = theirs.get(key)
        if other is None:
            continue
        metrics = {}
        for m in names:
            sign = 1.0 if higher_is_better(m) else -1.0
            drop = _drop(curve, m)
            base = _drop(other, m)
            metrics[m] = sign * (_area(drop, m) - _area(base, m))
        values[key] = metrics
    return _nest(values)


def _drop(curve: Mapping[str, Any], metric: str) -> dict[str, Any]:
    """The curve minus its clean (level 0) value."""
    clean = curve[level_key(0.0)][metric]["mean"]
    return {k: {metric: {"mean": v[metric]["mean"] - clean}} for k, v in curve.items()}


def _any_finite(draws: Sequence[MetricDict], metric: str) -> bool:
    return any(np.isfinite(d.get(metric, np.nan)) for d in draws)


def _nanmean(values: Sequence[float]) -> float:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else float("nan")
