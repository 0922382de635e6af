"""Operating points through a benchmark: the threshold of each outer repeat chosen on that
repeat's validation samples only, applied to its test samples.

:class:`OperatingPointCollector` is an ``on_repeat`` hook of
:func:`omnifuse.evaluation.benchmark.run_benchmark` (evaluation cannot import trust, so the
CLI wires it in and writes its summary into ``results.json`` with :meth:`apply`).

Intervals follow the benchmark's protocol: over folds (Student-t, as every other k-fold
metric), or on a fixed test split a bootstrap of the test samples over patients at the
repeat's fixed threshold, averaged over seeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents import MetricSummary, OperatingPointResult, ResultsDocument
from omnifuse.evaluation.statistics import mean_ci, summarize
from omnifuse.trust.operating_points import (
    Rule,
    choose_threshold,
    operating_point_intervals,
    operating_point_metrics,
    parse_rule,
)


def parse_option(rule: str, option: str = "--threshold") -> Rule:
    """``rule`` parsed; a bad one is a one-line ConfigError naming ``option``."""
    try:
        return parse_rule(rule)
    except ConfigError as exc:
        raise ConfigError(f"{option}: {exc}") from None


def check_threshold_task(task: str, rule: str | None, option: str = "--threshold") -> Rule | None:
    """``rule`` parsed for ``task``; survival and multilabel tasks have no threshold
    (one-line ConfigError naming ``option``)."""
    if rule is None:
        return None
    parsed = parse_option(rule, option)
    if task not in ("binary", "multiclass"):
        raise ConfigError(f"{option} is for binary tasks (multiclass: argmax); {task} tasks have no threshold")
    if task == "multiclass":
        raise ConfigError(f"{option} is for binary tasks; multiclass decisions are the argmax")
    return parsed


@dataclass
class _Record:
    thresholds: list[float] = field(default_factory=list)
    values: list[dict[str, float]] = field(default_factory=list)
    bootstrap: list[dict[str, dict[str, float]]] = field(default_factory=list)
    confusion: np.ndarray | None = None


class OperatingPointCollector:
    """Collects, per method and repeat, the operating-point metrics on the test samples.

    ``rule`` is applied to binary tasks (default Youden); multiclass tasks are scored at the
    argmax. ``n_boot`` > 0 (fixed test split) also bootstraps each repeat's test samples.
    """

    def __init__(self, ds: MultimodalDataset, rule: str | Rule = "youden", n_boot: int = 0) -> None:
        if ds.task not in ("binary", "multiclass"):
            raise ConfigError(f"operating points are for binary and multiclass tasks, not {ds.task}")
        self.ds = ds
        self.rule = parse_rule(rule) if ds.task == "binary" else None
        self.n_boot = n_boot
        self.records: dict[str, _Record] = {}

    def add(self, repeat: Any, fitted_by_name: Mapping[str, Any]) -> None:
        """The ``on_repeat`` hook: ``repeat`` has ``val``, ``test`` and ``seed``."""
        ds = self.ds
        y_test = ds.y[repeat.test]
        for name, fitted in fitted_by_name.items():
            record = self.records.setdefault(name, _Record())
            test_probs = fitted.predict_proba(repeat.test)
            threshold = None
            if self.rule is not None:  # chosen on the validation samples only
                threshold = choose_threshold(fitted.predict_proba(repeat.val), ds.y[repeat.val], self.rule)
                record.thresholds.append(threshold)
            values = operating_point_metrics(
                test_probs, y_test, threshold, task=ds.task, class_names=list(ds.class_names)
            )
            if ds.task == "multiclass":
                flat = {f"sensitivity:{c}": v for c, v in values["sensitivity"].items()}
                flat.update(weighted_f1=values["weighted_f1"], mcc=values["mcc"])
                k = len(ds.class_names)
                cm = np.bincount(y_test * k + test_probs.argmax(axis=1), minlength=k * k).reshape(k, k)
                record.confusion = cm if record.confusion is None else record.confusion + cm
            else:
                flat = {m: values[m] for m in ("sensitivity", "specificity", "ppv", "npv", "f1", "mcc")}
            record.values.append({k: float(v) for k, v in flat.items()})
            if self.n_boot:
                record.bootstrap.append(
                    operating_point_intervals(
                        test_probs,
                        y_test,
                        threshold,
                        task=ds.task,
                        groups=ds.groups[repeat.test],
                        n_boot=self.n_boot,
                        seed=int(repeat.seed),
                        class_names=list(ds.class_names),
                    )
                )

    def result(self, name: str) -> OperatingPointResult | None:
        """The summary of method ``name`` over its repeats (None when it was never added)."""
        record = self.records.get(name)
        if record is None or not record.values:
            return None
        metrics = {}
        for metric in record.values[0]:
            values = [v[metric] for v in record.values]
            if record.bootstrap:
                low = float(np.nanmean([b[metric]["ci_low"] for b in record.bootstrap]))
                high = float(np.nanmean([b[metric]["ci_high"] for b in record.bootstrap]))
            else:
                _, lo, hi = mean_ci(values)
                low, high = float(lo), float(hi)
            metrics[metric] = MetricSummary.model_validate(summarize(values) | {"ci_low": low, "ci_high": high})
        return OperatingPointResult(
            rule=None if self.rule is None else str(self.rule),
            thresholds=list(record.thresholds),
            metrics=metrics,
            confusion=None if record.confusion is None else record.confusion.tolist(),
        )

    def apply(self, results: ResultsDocument) -> ResultsDocument:
        """``results`` with every collected method's ``operating_point`` filled in."""
        for name, method in results.methods.items():
            method.operating_point = self.result(name)
        return results
