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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError
from omnifuse.evaluation.documents import MetricSummary, OperatingPointResult, ResultsDocument
from omnifuse.evaluation.statistics import mean_ci, summarize
from omnifuse.evaluation.survival_metrics import predict_survival
from omnifuse.tasks import SINGLE_LABEL_TASKS
from omnifuse.trust.operating_points import (
    Rule,
    choose_threshold,
    operating_point_intervals,
    operating_point_metrics,
    parse_rule,
)
from omnifuse.trust.subgroups import MIN_SUBGROUP_SIZE, audit_subgroups, audit_survival_subgroups


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
    if task not in SINGLE_LABEL_TASKS:
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
        if ds.task not in SINGLE_LABEL_TASKS:
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


# --------------------------------------------------------------------------- evaluate


def parse_columns(text: str | None, option: str = "--subgroups") -> list[str]:
    """``COL[,COL]`` as a list (empty when None); an empty list is a one-line error."""
    if text is None:
        return []
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise ConfigError(f"{option}: give one or more column names (COL[,COL])")
    return columns


def subgroup_frame(ds: MultimodalDataset, columns: Sequence[str], folder: Path | None = None) -> pd.DataFrame:
    """One row per sample of ``ds`` (its order), one column per name of ``columns``.

    A column is looked up in the data folder's ``labels.csv`` then ``subgroups.csv``
    (``sample_id`` plus descriptors), else it is a feature of a tabular modality (its raw
    value, e.g. PhysioNet's static ``Gender``) or a one-hot group of them (``ICUType`` for
    ``ICUType_1`` ... ``ICUType_4``: the suffix of the hot one). Unknown values are missing.

    Raises:
        ConfigError: a column found nowhere, naming it and the available ones (one line).
    """
    tables = _folder_tables(folder)
    ids = pd.Index(np.asarray(ds.sample_ids).astype(str))
    out: dict[str, pd.Series] = {}
    available: list[str] = []
    for table in tables:
        available += [c for c in table.columns if c not in available]
    features = _tabular_features(ds)
    extra = [f for f in features if f not in available]
    if extra:
        available.append(f"tabular features {', '.join(extra[:8])}{', ...' if len(extra) > 8 else ''} ({len(extra)})")
    for col in columns:
        table = next((t for t in tables if col in t.columns), None)
        if table is not None:
            out[col] = table[col].reindex(ids).reset_index(drop=True)
        elif col in features:
            values = features[col]
            out[col] = pd.Series([None if np.isnan(v) else f"{v:g}" for v in values], dtype=object)
        else:
            hot = sorted(f for f in features if f.startswith(f"{col}_"))
            if not hot:
                raise ConfigError(
                    f"--subgroups: column '{col}' not found (available: {', '.join(available) or 'none'})"
                )
            matrix = np.stack([features[f] for f in hot], axis=1)
            known = ~np.isnan(matrix).any(axis=1) & (np.nansum(matrix, axis=1) == 1)
            suffix = [f[len(col) + 1 :] for f in hot]
            out[col] = pd.Series(
                [suffix[int(np.nanargmax(r))] if k else None for r, k in zip(matrix, known)], dtype=object
            )
    return pd.DataFrame(out)


_NOT_SUBGROUPS = {"sample_id", "label", "split", "group", "time", "event"}


def _folder_tables(folder: Path | None) -> list[pd.DataFrame]:
    if folder is None or not Path(folder).is_dir():
        return []
    tables = []
    for name in ("labels.csv", "subgroups.csv"):
        path = Path(folder) / name
        if not path.is_file():
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=True)
        if "sample_id" not in table.columns:
            raise ConfigError(f"{path}: needs a sample_id column for --subgroups")
        table = table.drop_duplicates("sample_id").set_index("sample_id")
        tables.append(table[[c for c in table.columns if c not in _NOT_SUBGROUPS]])
    return tables


def _tabular_features(ds: MultimodalDataset) -> dict[str, np.ndarray]:
    features: dict[str, np.ndarray] = {}
    for name in ds.modalities:
        spec = ds.specs[name]
        if spec.kind != "tabular":
            continue
        data = np.asarray(ds.data[name], dtype=np.float64)
        absent = ~ds.availability(name)
        for j, feature in enumerate(spec.feature_names):
            column = data[:, j].copy()
            column[absent] = np.nan
            features.setdefault(str(feature), column)
    return features


def evaluate_decisions(
    probs: np.ndarray,
    ds: MultimodalDataset,
    threshold: float | None,
    subgroups: pd.DataFrame | None = None,
    n_boot: int = 500,
    seed: int = 0,
) -> dict[str, Any]:
    """The ``operating_point`` (and, with ``subgroups``, ``subgroups``) sections of an
    ``evaluate`` document: decisions of ``probs`` on the samples of ``ds`` at the fixed
    ``threshold`` (binary; None: 0.5) or the argmax (multiclass), intervals bootstrapped
    over patients (``ds.groups``). Subgroups under
    :data:`~omnifuse.trust.subgroups.MIN_SUBGROUP_SIZE` samples are scored but left out of the
    gaps and fairness differences."""
    names = list(ds.class_names)
    thr = threshold if ds.task == "binary" else None
    section: dict[str, Any] = {
        "threshold": thr,
        "metrics": operating_point_intervals(
            probs, ds.y, thr, task=ds.task, groups=ds.groups, n_boot=n_boot, seed=seed, class_names=names
        ),
    }
    if ds.task == "binary":
        counts = operating_point_metrics(probs, ds.y, thr, task="binary")
        section["counts"] = {k: counts[k] for k in ("tp", "fp", "tn", "fn")}
    else:
        k = len(names)
        section["confusion"] = np.bincount(ds.y * k + probs.argmax(axis=1), minlength=k * k).reshape(k, k).tolist()
    out: dict[str, Any] = {"operating_point": section}
    if subgroups is not None:
        audit = audit_subgroups(
            probs, ds.y, subgroups, threshold=thr, task=ds.task, groups=ds.groups, class_names=names, n_boot=n_boot,
            seed=seed, min_size=MIN_SUBGROUP_SIZE,
        )  # fmt: skip
        out["subgroups"] = audit.to_dict()
    return out


def evaluate_survival_subgroups(
    fitted: Any, ds: MultimodalDataset, subgroups: pd.DataFrame, n_boot: int = 500, seed: int = 0
) -> dict[str, Any]:
    """The ``subgroups`` section of a survival ``evaluate`` document: the survival metrics
    (Harrell's C first) of ``fitted``'s predictions for every sample of ``ds`` per subgroup,
    bootstrapped over patients. As ``evaluate``'s overall metrics for a bundle (which keeps
    no training outcomes), the censoring distribution and horizons are the evaluated samples'."""
    pred = predict_survival(fitted, np.arange(len(ds)), train_y=ds.y)
    return {"subgroups": audit_survival_subgroups(pred, subgroups, n_boot=n_boot, seed=seed).to_dict()}
