"""Synthetic but realistic report inputs: results.json, robustness.json and details.json
(valid documents of the current schema version), and minimal documents for focused tests."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

MODALITIES = ["mirna", "mrna", "protein"]
METHODS = {"omnifuse": "model", "concat": "fusion", "late": "fusion", "broken": "baseline"}
METRICS = ["auroc", "auprc", "accuracy", "balanced_accuracy", "macro_f1", "kappa", "brier", "ece"]
MISSING_LEVELS = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9]
NOISE_LEVELS = {"gaussian": [0.0, 0.25, 0.5, 1.0, 2.0], "dropout": [0.0, 0.2, 0.5, 0.8]}
SKILL = {"omnifuse": 0.88, "concat": 0.83, "late": 0.8}
REPEATS = ["seed 0 fold 0", "seed 0 fold 1", "seed 0 fold 2"]


def _summary(rng: np.random.Generator, centre: float | None, n: int = 3) -> dict[str, Any]:
    if centre is None:  # a method whose metric is undefined everywhere
        return {"mean": None, "std": None, "values": [None] * n, "ci_low": None, "ci_high": None}
    values = [float(np.clip(centre + rng.normal(0, 0.02), 0, 1)) for _ in range(n)]
    mean = float(np.mean(values))
    return {
        "mean": mean,
        "std": float(np.std(values)),
        "values": values,
        "ci_low": max(0.0, mean - 0.04),
        "ci_high": min(1.0, mean + 0.04),
    }


def _point(rng: np.random.Generator, skill: float | None) -> dict[str, Any]:
    out = {}
    for m in ("auroc", "macro_f1", "accuracy"):
        if skill is None:
            out[m] = {"mean": None, "ci_low": None, "ci_high": None}
        else:
            value = float(np.clip(skill + rng.normal(0, 0.01), 0, 1))
            out[m] = {"mean": value, "ci_low": value - 0.03, "ci_high": min(1.0, value + 0.03)}
    return out


def results_doc(rng: np.random.Generator, task: str, classes: list[str]) -> dict[str, Any]:
    methods: dict[str, Any] = {}
    for name, kind in METHODS.items():
        skill = SKILL.get(name)
        metrics = {
            m: _summary(rng, None if skill is None else (1 - skill) / 3 if m in ("brier", "ece") else skill)
            for m in METRICS
        }
        methods[name] = {
            "kind": kind,
            "metrics": metrics,
            "train_seconds": None if skill is None else 12.5,
            "n_params": 0 if skill is None else 123456,
        }
    combos = ["+".join(c) for r in (1, 2, 3) for c in itertools.combinations(MODALITIES, r)]
    methods["omnifuse"]["traces"] = [
        {
            "omnifuse": {
                "lazy_history": [
                    {
                        "epoch": e,
                        "lazy": ["protein"] if (e + r) % 4 else ["mrna", "protein"],
                        "mining_seconds": 0.1,
                        "scores": {
                            c: (None if c == "mirna" and e == 0 else float(rng.uniform(0.2, 0.6))) for c in combos
                        },
                    }
                    for e in range(8)
                ]
            }
        }
        for r in range(len(REPEATS))
    ]
    methods["concat"]["traces"] = [{}, {}, {}]  # a method without OmniFuse traces
    tests = [
        {"a": a, "b": b, "metric": metric, "p_value": p, "test": "corrected resampled t-test over folds"}
        for (a, b), p in zip(itertools.combinations(METHODS, 2), [0.3, 0.01, None, 0.2, 0.5, 0.9])
        for metric in ("auroc", "macro_f1")
    ]
    return {
        "schema_version": 1,
        "dataset": "simulated cohort",
        "task": task,
        "classes": classes,
        "n_samples": 300,
        "modalities": MODALITIES,
        "protocol": {"type": "kfold", "folds": 3, "seeds": 1, "ci": "Student-t interval over folds"},
        "repeats": REPEATS,
        "config": {"max_epochs": 8},
        "methods": methods,
        "tests": tests,
    }


def robustness_doc(rng: np.random.Generator, task: str) -> dict[str, Any]:
    patterns = ["+".join(c) for r in (1, 2, 3) for c in itertools.combinations(MODALITIES, r)]
    methods: dict[str, Any] = {}
    for name in METHODS:
        skill = SKILL.get(name)

        def curve(levels: list[float], slope: float) -> dict[str, Any]:
            return {str(lv): _point(rng, None if skill is None else skill - slope * lv) for lv in levels}

        missing = {k: curve(MISSING_LEVELS, 0.2) for k in [*MODALITIES, "any"]}
        methods[name] = {
            "clean": missing["any"]["0.0"],
            "missing": missing,
            "patterns": {
                p: _point(rng, None if skill is None else skill - 0.05 * (3 - p.count("+"))) for p in patterns
            },
            "noise": {m: {kind: curve(levels, 0.05) for kind, levels in NOISE_LEVELS.items()} for m in MODALITIES},
            "relative_robustness": {
                "overall": {
                    "auroc": None if skill is None else skill - 0.05,
                    "macro_f1": None if skill is None else skill - 0.1,
                }
            },
            "effective_robustness": (
                None
                if name == "concat"
                else {"baseline": "concat", "overall": {"auroc": None if skill is None else 0.01}}
            ),
        }
    # a level with an undefined value and a bare NaN in the middle of a curve
    methods["late"]["missing"]["mrna"]["0.5"]["auroc"]["mean"] = float("nan")
    return {
        "schema_version": 1,
        "dataset": "simulated cohort",
        "task": task,
        "modalities": MODALITIES,
        "draws": 2,
        "repeats": 3,
        "interval": "Student-t interval over repeats (folds x seeds)",
        "protocol": {"type": "kfold", "folds": 3, "seeds": 1, "ci": "Student-t interval over folds"},
        "baseline": "concat",
        "levels": {"missing": MISSING_LEVELS, "noise": NOISE_LEVELS},
        "pattern_counts": {p: 20 + 10 * i for i, p in enumerate(patterns)},
        "methods": methods,
    }


def details_doc(rng: np.random.Generator, title: str, task: str, classes: list[str]) -> dict[str, Any]:
    c = len(classes)
    methods: dict[str, Any] = {}
    for name in METHODS:
        if name == "broken":  # predicts the first class for everyone
            methods[name] = {
                "confusion_matrix": [[10] + [0] * (c - 1) for _ in range(c)],
                "calibration": {"confidence": [None] * 15, "accuracy": [None] * 15, "count": [0] * 15},
            }
            continue
        cm = rng.integers(0, 12, size=(c, c)) + np.eye(c, dtype=int) * 60
        conf = [None if i < 3 else (i + 0.5) / 15 for i in range(15)]
        acc = [None if v is None else float(np.clip(v + rng.normal(0, 0.05), 0, 1)) for v in conf]
        methods[name] = {
            "confusion_matrix": cm.tolist(),
            "calibration": {"confidence": conf, "accuracy": acc, "count": [0, 0, 0] + [10] * 12},
        }
    methods["omnifuse"]["weights"] = {
        "name": "omega",
        "values": {m: [float(v) for v in rng.beta(2 + i, 3, size=60)] + [None] for i, m in enumerate(MODALITIES)},
    }
    n = 80
    labels = rng.integers(0, c, size=n)
    methods["omnifuse"]["embeddings"] = {
        "modality": "protein",
        "x": [float(v) for v in rng.normal(labels * 4.0, 1.0)] + [None],
        "y": [float(v) for v in rng.normal(0, 1.0, size=n)] + [1.0],
        "source": ["imputed" if i % 5 == 0 else "original" for i in range(n)] + ["original"],
        "label": [int(v) for v in labels] + [0],
    }
    cohort_labels = rng.choice(c, size=300, p=np.linspace(2, 1, c) / np.linspace(2, 1, c).sum())
    patterns = {"mirna+mrna+protein": 150, "mirna+mrna": 60, "mrna+protein": 40, "mrna": 30, "protein": 20}
    return {
        "schema_version": 1,
        "title": title,
        "task": task,
        "classes": classes,
        "modalities": MODALITIES,
        "evaluated_on": "test folds pooled",
        "dataset": {
            "n_samples": 300,
            "n_groups": 280,
            "task": task,
            "modalities": {
                m: {"kind": "omics", "n_features": 200 + 100 * i, "n_present": 300 - 40 * i, "n_absent": 40 * i}
                for i, m in enumerate(MODALITIES)
            },
            "labels": {k: int((cohort_labels == i).sum()) for i, k in enumerate(classes)},
            "splits": {"train": 240, "test": 60},
            "patterns": patterns,
            "info": {"source": "simulated"},
        },
        "truth": {"lazy_combination": ["protein"], "noise_sd": 0.5},
        "methods": methods,
    }


def minimal_results(**fields: Any) -> dict[str, Any]:
    """A valid results.json document without any method (``fields`` replace its fields)."""
    return {
        "schema_version": 1,
        "dataset": "d",
        "task": "binary",
        "classes": ["negative", "positive"],
        "n_samples": 10,
        "modalities": ["a"],
        "repeats": [],
        "config": {},
        "methods": {},
        "tests": [],
        "protocol": {"type": "kfold", "folds": 2, "seeds": 1, "ci": "Student-t interval over folds"},
    } | fields


def minimal_details(classes: list[str], **fields: Any) -> dict[str, Any]:
    """A valid details.json document with nothing plottable (``fields`` replace its fields)."""
    task = "binary" if len(classes) == 2 else "multiclass"
    return {
        "schema_version": 1,
        "title": "t",
        "task": task,
        "classes": classes,
        "modalities": [],
        "evaluated_on": "clean test samples",
        "methods": {},
        "dataset": {
            "n_samples": 0,
            "n_groups": 0,
            "task": task,
            "modalities": {},
            "labels": {},
            "splits": {},
            "patterns": {},
        },
    } | fields


def minimal_method_details(**fields: Any) -> dict[str, Any]:
    """A details.json method entry with no confusion matrix and empty calibration bins."""
    return {"confusion_matrix": [], "calibration": {"confidence": [], "accuracy": [], "count": []}} | fields


def write_cohort(folder: Path, title: str, task: str = "binary", n_classes: int = 2, seed: int = 0) -> Path:
    """Write the three JSON files of one cohort into ``folder``."""
    rng = np.random.default_rng(seed)
    classes = ["negative", "positive"] if n_classes == 2 else [f"subtype {chr(65 + i)}" for i in range(n_classes)]
    folder.mkdir(parents=True, exist_ok=True)
    docs = {
        "results.json": results_doc(rng, task, classes),
        "robustness.json": robustness_doc(rng, task),
        "details.json": details_doc(rng, title, task, classes),
    }
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc, indent=1))  # NaN written as a bare NaN token
    return folder


@pytest.fixture
def cohort_dir(tmp_path: Path) -> Path:
    """One binary cohort, files directly in the folder."""
    return write_cohort(tmp_path / "run", "binary cohort")


@pytest.fixture
def cohorts_dir(tmp_path: Path) -> Path:
    """Two cohorts in sub-folders: a binary one and a 4-class one."""
    root = tmp_path / "demo-out"
    write_cohort(root / "cohort-3", "simulated 3-modality cohort")
    write_cohort(root / "cohort-5", "multiclass cohort", task="multiclass", n_classes=4, seed=1)
    return root
