"""`omnifuse benchmark`: several models on the same splits, metrics with intervals, paired tests.

Two protocols:

* with a test split (``train_split``/``test_split``): each seed carves a validation set out
  of the training split (grouped, stratified), trains every model, and scores the test split.
  Intervals are percentile bootstraps on the test set (averaged over seeds).
* without: stratified, patient-grouped k-fold; the validation set is carved out of each
  training fold. Intervals are Student-t intervals over folds (x seeds).

Every model sees identical splits and identical standardisation (fitted on the training part
only). Methods are compared pairwise: over folds with the corrected resampled t-test, on a
fixed test set with a paired bootstrap over its samples (see evaluation.comparisons).

Models trained with conformal prediction sets (``--set conformal=0.9``) are also scored on
``coverage`` and ``set_size`` of their test-fold sets (:mod:`omnifuse.evaluation.set_metrics`;
each sample with its availability pattern's threshold), summarised over repeats like every
other metric. With ``--set calibrate=temperature`` every probability metric (Brier, ECE, ...)
is computed on the calibrated probabilities: :meth:`FittedModel.predict_proba` applies the
temperature.

Survival tasks are scored with :mod:`omnifuse.evaluation.survival_metrics` (``c_index``,
``uno_c``, ``time_auc``, ``ibs``; censoring distribution and horizons from each repeat's
training fold); their bootstrap resamples patients and the paired tests compare ``c_index`` and
``ibs``. A metric undefined on a fold (no event, no comparable pair) is NaN there, with a warning.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.tasks import TaskName
from omnifuse.data.splits import holdout_indices, kfold_indices
from omnifuse.errors import DataError
from omnifuse.evaluation.metrics import METRICS, compute_metrics
from omnifuse.evaluation.comparisons import corrected_paired_ttest, paired_bootstrap_pvalue
from omnifuse.evaluation.documents import (
    BenchmarkProtocol,
    HoldoutProtocol,
    KFoldProtocol,
    MethodResult,
    MetricSummary,
    PairedTest,
    ResultsDocument,
)
from omnifuse.evaluation.set_metrics import prediction_sets, set_bootstrap, set_metrics
from omnifuse.evaluation.statistics import bootstrap_all, mean_ci, summarize
from omnifuse.evaluation.survival_metrics import (
    SurvivalPredictions,
    compute_survival_metrics,
    predict_survival,
    survival_bootstrap_all,
    survival_paired_bootstrap_pvalue,
    task_metrics,
    tested_metrics,
)
from omnifuse.models.registry import get_model
from omnifuse.training.config import merge, resolve_configs, split_config
from omnifuse.training.fit import FittedModel, SplitContext, fit

#: Metrics compared pairwise between classification methods (survival: ``c_index`` and ``ibs``,
#: see :func:`omnifuse.evaluation.survival_metrics.tested_metrics`).
TESTED_METRICS = tested_metrics("binary")


@dataclass
class Repeat:
    """One train/validation/test assignment (a fold, or a seed of a fixed split)."""

    label: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


class ConfigTuner(Protocol):
    """Chooses a method's hyperparameters from an outer training pool (nested tuning).

    ``choose`` must only look at the samples ``pool`` of ``ds``; it returns config overrides
    (nested, like a YAML file). ``describe`` is recorded in the protocol of ``results.json``.
    """

    def choose(self, ds: MultimodalDataset, pool: np.ndarray, name: str, config: dict[str, Any]) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...


@dataclass
class MethodRecord:
    metrics: dict[str, list[float]] = field(default_factory=lambda: {m: [] for m in METRICS})
    bootstrap: list[dict[str, dict[str, float]]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    n_params: int = 0
    traces: list[dict[str, Any]] = field(default_factory=list)
    probs: list[np.ndarray] = field(default_factory=list)
    survival: list[SurvivalPredictions] = field(default_factory=list)
    tuned_configs: list[dict[str, Any]] = field(default_factory=list)


def plan_repeats(
    ds: MultimodalDataset,
    folds: int = 5,
    seeds: int = 1,
    train_split: str | None = None,
    test_split: str | None = None,
    val_fraction: float = 0.2,
) -> list[Repeat]:
    """The train/val/test index sets every method is run on."""
    repeats = []
    if test_split is not None:
        test = ds.split_indices(test_split)
        pool = ds.split_indices(train_split) if train_split else np.setdiff1d(np.arange(len(ds)), test)
        shared = set(ds.groups[pool]) & set(ds.groups[test])
        if shared:
            raise_shared(shared)
        for seed in range(seeds):
            train, val = holdout_indices(ds, pool, val_fraction, seed=seed)
            repeats.append(Repeat(f"seed {seed}", seed, train, val, test))
        return repeats
    for seed in range(seeds):
        for k, (pool, test) in enumerate(kfold_indices(ds, folds, seed=seed)):
            train, val = holdout_indices(ds, pool, val_fraction, seed=seed)
            repeats.append(Repeat(f"seed {seed} fold {k}", seed, train, val, test))
    return repeats


def raise_shared(groups: set[str]) -> None:
    raise DataError(
        f"{len(groups)} patient group(s) appear in both the training and test splits (first: {sorted(groups)[0]})"
    )


def run_benchmark(
    ds: MultimodalDataset,
    models: Sequence[str],
    folds: int = 5,
    seeds: int = 1,
    train_split: str | None = None,
    test_split: str | None = None,
    config: dict[str, Any] | None = None,
    n_boot: int = 500,
    on_step: Callable[[str, str], None] | None = None,
    on_repeat: Callable[[Repeat, dict[str, FittedModel]], None] | None = None,
    tuner: ConfigTuner | None = None,
) -> ResultsDocument:
    """Run every model on the same repeats; returns the ``results.json`` document.

    ``on_repeat(repeat, fitted_by_name)`` is called after each repeat's models are trained
    (robustness sweeps and report details reuse them instead of training again). With a
    ``tuner``, each method's config is first chosen on the repeat's training pool (train +
    validation, never its test samples) and the choices are recorded per repeat.
    """
    entries = [get_model(m) for m in models]  # unknown names fail before any training
    user = dict(config or {})
    # every key must belong to the trainer or to a model; each model takes the keys it owns
    own = split_config(user, entries, source="config")
    resolved = resolve_configs(entries, user, source="config")
    for entry in entries:  # configs, options and task support fail here, before any training
        entry.build(ds, resolved[entry.name].model)
    base = resolved[entries[0].name].trainer
    repeats = plan_repeats(ds, folds, seeds, train_split, test_split, base.val_fraction)
    records = {m: MethodRecord(metrics={k: [] for k in task_metrics(ds.task)}) for m in models}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="lightning")
        for rep in repeats:
            context = SplitContext(ds, rep.train, rep.val)
            fitted_models: dict[str, FittedModel] = {}
            for name in models:
                if on_step is not None:
                    on_step(name, rep.label)
                record = records[name]
                run_config = merge(own[name], {"seed": base.seed + rep.seed})
                if tuner is not None:
                    chosen = tuner.choose(ds, np.concatenate([rep.train, rep.val]), name, run_config)
                    record.tuned_configs.append(chosen)
                    run_config = merge(run_config, chosen)
                fitted = fit(name, context, run_config)
                score_repeat(record, fitted, ds, rep, n_boot if test_split is not None else 0)
                record.seconds.append(fitted.train_seconds)
                record.traces.append({k: v for k, v in fitted.history.items() if isinstance(v, dict)})
                record.n_params = fitted.n_params()
                fitted_models[name] = fitted
            if on_repeat is not None:
                on_repeat(rep, fitted_models)
    return _results(
        ds,
        models,
        records,
        repeats,
        folds,
        seeds,
        train_split,
        test_split,
        user,
        n_boot,
        tuning=tuner.describe() if tuner is not None else None,
    )


def score_repeat(record: MethodRecord, fitted: FittedModel, ds: MultimodalDataset, rep: Repeat, n_boot: int) -> None:
    """Append ``fitted``'s metrics on the repeat's test samples to ``record`` (with ``n_boot``,
    also a bootstrap on them and the predictions the paired tests need)."""
    if ds.task == "survival":
        pred = predict_survival(fitted, rep.test)
        for metric, value in compute_survival_metrics(pred).items():
            record.metrics[metric].append(value)
        if n_boot:
            record.bootstrap.append(survival_bootstrap_all(pred, n_boot=n_boot, seed=rep.seed))
            record.survival.append(pred)
        return
    probs = fitted.predict_proba(rep.test)
    y = ds.y[rep.test]
    metrics = compute_metrics(probs, y, ds.task)
    sets = prediction_sets(fitted, probs, ds.pattern_names()[rep.test])
    if sets is not None:
        metrics |= set_metrics(sets, y)
    for metric, value in metrics.items():
        record.metrics.setdefault(metric, []).append(value)
    if n_boot:
        boot = bootstrap_all(probs, y, ds.task, n_boot=n_boot, seed=rep.seed)
        if sets is not None:
            boot |= set_bootstrap(sets, y, ds.task, n_boot=n_boot, seed=rep.seed)
        record.bootstrap.append(boot)
        record.probs.append(probs)


def _results(
    ds: MultimodalDataset,
    models: Sequence[str],
    records: dict[str, MethodRecord],
    repeats: list[Repeat],
    folds: int,
    seeds: int,
    train_split: str | None,
    test_split: str | None,
    user: dict[str, Any],
    n_boot: int,
    tuning: dict[str, Any] | None = None,
) -> ResultsDocument:
    methods: dict[str, MethodResult] = {}
    for name in models:
        rec = records[name]
        metrics = {}
        for metric, values in rec.metrics.items():
            summary = summarize(values)
            if rec.bootstrap:
                low = float(np.nanmean([b[metric]["ci_low"] for b in rec.bootstrap]))
                high = float(np.nanmean([b[metric]["ci_high"] for b in rec.bootstrap]))
            else:
                _, lo, hi = mean_ci(values)
                low, high = float(lo), float(hi)
            metrics[metric] = MetricSummary.model_validate(summary | {"ci_low": low, "ci_high": high})
        methods[name] = MethodResult(
            kind=get_model(name).kind,
            metrics=metrics,
            train_seconds=float(np.mean(rec.seconds)),
            n_params=rec.n_params,
            traces=rec.traces if any(rec.traces) else [],
            tuned_configs=rec.tuned_configs,
        )
    if test_split is not None:
        y_test = ds.y[repeats[0].test]

        def p_value(a: str, b: str, metric: str) -> float:
            if ds.task == "survival":
                return survival_paired_bootstrap_pvalue(records[a].survival, records[b].survival, metric, n_boot)
            return paired_bootstrap_pvalue(records[a].probs, records[b].probs, y_test, ds.task, metric, n_boot)

        test_name = "paired bootstrap over test samples (seeds pooled)"
    else:
        ratio = float(np.mean([len(r.test) / (len(r.train) + len(r.val)) for r in repeats]))

        def p_value(a: str, b: str, metric: str) -> float:
            return corrected_paired_ttest(records[a].metrics[metric], records[b].metrics[metric], ratio)

        test_name = "corrected resampled t-test over folds (Nadeau & Bengio 2003)"
    tests = [
        PairedTest(a=a, b=b, metric=metric, p_value=p_value(a, b, metric), test=test_name)
        for a, b in itertools.combinations(models, 2)
        for metric in tested_metrics(ds.task)
    ]
    protocol: BenchmarkProtocol = (
        HoldoutProtocol(
            train_split=train_split,
            test_split=test_split,
            seeds=seeds,
            ci="percentile bootstrap on the test set, averaged over seeds",
            tuning=tuning,
        )
        if test_split is not None
        else KFoldProtocol(folds=folds, seeds=seeds, ci="Student-t interval over folds", tuning=tuning)
    )
    return ResultsDocument(
        dataset=str(ds.info.get("path", ds.info.get("source", "in-memory"))),
        task=cast(TaskName, ds.task),
        classes=list(ds.class_names),
        n_samples=len(ds),
        modalities=list(ds.modalities),
        protocol=protocol,
        repeats=[r.label for r in repeats],
        config=user,
        methods=methods,
        tests=tests,
    )
