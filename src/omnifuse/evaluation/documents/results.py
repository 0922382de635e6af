"""``results.json``: every method's metrics over the repeats of a benchmark, and paired tests.

Written by ``omnifuse benchmark``, ``omnifuse robustness --models``, ``omnifuse demo`` and
``benchmarks/quality.py`` (:func:`omnifuse.evaluation.benchmark.run_benchmark` builds it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field

from omnifuse.tasks import TaskName
from omnifuse.evaluation.documents.base import Document, Strict, Value, read_document


class KFoldProtocol(Strict):
    """Stratified, patient-grouped k-fold cross-validation (x seeds)."""

    type: Literal["kfold"] = "kfold"
    folds: int
    seeds: int
    ci: str = Field(description="How the intervals were computed.")
    tuning: dict[str, Any] | None = Field(default=None, description="Nested tuning, when methods were tuned.")


class HoldoutProtocol(Strict):
    """A fixed test split; each seed carves its validation set out of the training split."""

    type: Literal["holdout"] = "holdout"
    train_split: str | None
    test_split: str
    seeds: int
    ci: str
    tuning: dict[str, Any] | None = None


class TrainedRunsProtocol(Strict):
    """Already trained runs, scored on one test set (``omnifuse robustness --runs``)."""

    type: Literal["trained runs"] = "trained runs"
    n_test: int


#: How a benchmark split the data.
BenchmarkProtocol = Annotated[Union[KFoldProtocol, HoldoutProtocol], Field(discriminator="type")]
#: How the models of a robustness sweep were obtained.
Protocol = Annotated[Union[KFoldProtocol, HoldoutProtocol, TrainedRunsProtocol], Field(discriminator="type")]


class MetricSummary(Strict):
    """One metric over the repeats: mean, spread, each repeat's value and the interval."""

    mean: Value
    std: Value
    values: list[Value]
    ci_low: Value
    ci_high: Value


class OperatingPointResult(Strict):
    """Decisions at an operating point, over the repeats (optional: absent in older files).

    Binary tasks: the threshold of ``rule`` chosen on each repeat's validation samples and
    applied to its test samples (sensitivity, specificity, ppv, npv, f1, mcc). Multiclass:
    the argmax (``sensitivity:<class>``, ``weighted_f1``, ``mcc``) and ``confusion``.
    """

    rule: str | None = Field(description="The threshold rule (None: multiclass argmax).")
    thresholds: list[Value] = Field(default_factory=list, description="Per repeat, the chosen threshold.")
    metrics: dict[str, MetricSummary]
    confusion: list[list[int]] | None = Field(
        default=None, description="Multiclass: confusion matrix summed over repeats (rows true, columns predicted)."
    )


class SubgroupSummary(Strict):
    """One value of a subgroup column over the repeats (``"(missing)"``: no value)."""

    level: str
    n: int = Field(description="Distinct test samples of the subgroup over the repeats (k-fold: of the cohort).")
    class_counts: dict[str, int] = Field(description="Per class (survival: events and censored) of those samples.")
    metrics: dict[str, MetricSummary] = Field(description="Every metric of the task, per repeat and summarised.")
    notes: list[str] = Field(default_factory=list)


class SubgroupGap(Strict):
    """The largest difference of a metric's mean between two subgroups of a column."""

    gap: Value
    highest: str
    lowest: str


class SubgroupColumnResult(Strict):
    """One subgroup column of a benchmark's subgroup audit."""

    column: str
    subgroups: list[SubgroupSummary]
    gaps: dict[str, SubgroupGap] = Field(default_factory=dict)
    equalized_odds_difference: MetricSummary | None = Field(
        default=None, description="Binary: fairlearn's equalised-odds difference at each repeat's operating point."
    )
    demographic_parity_difference: MetricSummary | None = None
    rates: dict[str, dict[str, Value]] = Field(
        default_factory=dict,
        description="Binary: per subgroup, mean over repeats of its selection, true- and false-positive rate.",
    )
    notes: list[str] = Field(default_factory=list)


class SubgroupBenchmarkResult(Strict):
    """Every metric per subgroup over the repeats (benchmark with --subgroups; absent before)."""

    rule: str | None = Field(description="Binary: the threshold rule chosen on each repeat's validation samples.")
    ci: str = Field(description="How the intervals were computed.")
    columns: list[SubgroupColumnResult]


class MethodResult(Strict):
    """One method of a benchmark."""

    kind: str = Field(description="The model's kind in the registry (fusion, model, baseline, ...).")
    metrics: dict[str, MetricSummary]
    train_seconds: Value = Field(description="Mean training time per repeat.")
    n_params: int
    traces: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per repeat, the model's training traces (e.g. OmniFuse's lazy_history); "
        "empty when the model records none.",
    )
    tuned_configs: list[dict[str, Any]] = Field(
        default_factory=list, description="Per repeat, the config chosen by nested tuning (empty: not tuned)."
    )
    operating_point: OperatingPointResult | None = Field(
        default=None, description="Decisions at the operating point (benchmark with --threshold; absent before)."
    )
    subgroups: SubgroupBenchmarkResult | None = Field(
        default=None, description="The subgroup audit (benchmark with --subgroups; absent before)."
    )


class PairedTest(Strict):
    """A paired comparison of two methods on one metric."""

    a: str
    b: str
    metric: str
    p_value: Value
    test: str


class ResultsDocument(Document):
    """The ``results.json`` document."""

    NAME = "results"
    schema_version: Literal[1] = 1
    dataset: str
    task: TaskName
    classes: list[str]
    n_samples: int
    modalities: list[str]
    protocol: BenchmarkProtocol
    repeats: list[str] = Field(description="Labels of the repeats, in the order of every per-repeat list.")
    config: dict[str, Any] = Field(description="The user's config (overrides of the defaults).")
    methods: dict[str, MethodResult]
    tests: list[PairedTest]
    wall_seconds: Value = Field(default=None, description="Wall time of the whole run, when the runner records it.")


def read_results(path: Path) -> ResultsDocument:
    """``results.json`` at ``path``, validated; a one-line DataError names the file and field."""
    return read_document(path, ResultsDocument)
