"""A study: benchmark, robustness sweep and report details from one training per (method,
repeat). What ``omnifuse robustness`` and ``omnifuse demo`` run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.evaluation.benchmark import Repeat, run_benchmark
from omnifuse.evaluation.conditions import MISSING_RATES, NOISE_LEVELS, plan_conditions
from omnifuse.evaluation.details import DetailsCollector
from omnifuse.evaluation.documents import (
    DetailsDocument,
    ResultsDocument,
    RobustnessDocument,
    TrainedRunsProtocol,
    write_document,
)
from omnifuse.evaluation.report import build_report
from omnifuse.evaluation.robustness import RobustnessSweep
from omnifuse.training.fit import FittedModel


@dataclass(frozen=True)
class SweepOptions:
    """What the robustness sweep covers.

    Attributes:
        missing_rates: rates of the per-modality and "any" missing sweeps.
        noise_levels: levels per noise kind (gaussian, dropout, segment, flatline).
        patterns: evaluate every availability pattern.
        draws: draws of each random condition.
        seed: seed of the corruption draws.
        n_boot: bootstrap resamples for intervals on a single test set.
        methods: restrict the sweep to these methods (None = all).
    """

    missing_rates: Sequence[float] = MISSING_RATES
    noise_levels: Mapping[str, Sequence[float]] = field(default_factory=lambda: dict(NOISE_LEVELS))
    patterns: bool = True
    draws: int = 3
    seed: int = 0
    n_boot: int = 200
    methods: Sequence[str] | None = None


@dataclass
class Study:
    """The three documents a study writes (``results`` is None for trained runs)."""

    results: ResultsDocument | None
    robustness: RobustnessDocument
    details: DetailsDocument

    def write(self, out: Path, report: bool = True) -> Path | None:
        """Write results.json, robustness.json and details.json into ``out`` and, with
        ``report``, the HTML report; returns the report's path."""
        out.mkdir(parents=True, exist_ok=True)
        if self.results is not None:
            write_document(out / "results.json", self.results)
        write_document(out / "robustness.json", self.robustness)
        write_document(out / "details.json", self.details)
        if not report:
            return None
        return build_report(out)


def _sweep(ds: MultimodalDataset, options: SweepOptions, bootstrap: bool) -> RobustnessSweep:
    conditions = plan_conditions(ds, options.missing_rates, options.noise_levels, options.patterns)
    return RobustnessSweep(
        ds, conditions, draws=options.draws, seed=options.seed, bootstrap=bootstrap, n_boot=options.n_boot
    )


def run_study(
    ds: MultimodalDataset,
    models: Sequence[str],
    folds: int = 5,
    seeds: int = 1,
    train_split: str | None = None,
    test_split: str | None = None,
    config: dict[str, Any] | None = None,
    options: SweepOptions | None = None,
    baseline: str | None = "concat",
    title: str | None = None,
    extra: dict[str, Any] | None = None,
    on_step: Callable[[str, str], None] | None = None,
    on_sweep: Callable[[str], None] | None = None,
) -> Study:
    """Train ``models`` on every repeat (as ``omnifuse benchmark``), then sweep each
    repeat's trained models over the test-time conditions and gather report details.

    ``extra`` sets further fields of the robustness and details documents (the simulator's
    ``truth``)."""
    options = options or SweepOptions()
    sweep = _sweep(ds, options, bootstrap=test_split is not None)
    details = DetailsCollector(ds, seed=options.seed)
    swept = set(options.methods) if options.methods is not None else None

    def after_repeat(repeat: Repeat, fitted: dict[str, FittedModel]) -> None:
        if on_sweep is not None:
            on_sweep(repeat.label)
        details.add(fitted, repeat.test, repeat.label)
        sweep.evaluate({k: v for k, v in fitted.items() if swept is None or k in swept}, repeat.test)

    results = run_benchmark(
        ds,
        list(models),
        folds=folds,
        seeds=seeds,
        train_split=train_split,
        test_split=test_split,
        config=config,
        on_step=on_step,
        on_repeat=after_repeat,
    )
    protocol = {"protocol": results.protocol, **(extra or {})}
    title = title or results.dataset
    return Study(results, sweep.document(baseline, protocol), details.document(title, extra))


def sweep_fitted(
    ds: MultimodalDataset,
    fitted: Mapping[str, FittedModel],
    test: np.ndarray,
    options: SweepOptions | None = None,
    baseline: str | None = "concat",
    title: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Study:
    """The robustness sweep of already trained models (e.g. loaded runs) on ``test``."""
    options = options or SweepOptions()
    sweep = _sweep(ds, options, bootstrap=True)
    sweep.evaluate(fitted, test)
    details = DetailsCollector(ds, seed=options.seed)
    details.add(fitted, test, "test")
    protocol = {"protocol": TrainedRunsProtocol(n_test=int(len(test))), **(extra or {})}
    title = title or str(ds.info.get("path", "trained runs"))
    return Study(None, sweep.document(baseline, protocol), details.document(title, extra))
