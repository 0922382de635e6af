"""How the small-cohort defaults were chosen: inner-fold AUROC on training samples only.

    python benchmarks/small_cohort_defaults.py --data ../shared/data/brca_recurrence \
        --candidates '{"concat, val_loss": ["concat", {"monitor": "val_loss", "patience": 8}],
                       "concat, auto": ["concat", {}]}'
    python benchmarks/small_cohort_defaults.py --data sim3 --candidates ...   # the simulator, 3 modalities

For each of the 5 outer folds (seed 0) of the cohort, the outer *training* part is split into
3 inner folds; every candidate is trained on each inner training part (with its usual 20%
early-stopping share carved out of it) and scored on the inner test fold. The reported
number is the mean AUROC over those 15 inner test folds: the outer test folds are never
used, so the choice does not look at the samples the quality suite reports on. ``--outer``
also prints the outer-fold AUROC, for reporting after a choice is made.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.splits import holdout_indices, kfold_indices
from omnifuse.training.fit import SplitContext, fit


def load(source: str, modalities: str | None) -> MultimodalDataset:
    """A dataset folder, or ``simM`` for the simulator's M-modality demo cohort."""
    if source.startswith("sim"):
        from omnifuse.data.simulate import default_cohort

        ds, _ = default_cohort(int(source[3:]), seed=0, n_samples=300)
    else:
        from omnifuse.data.loaders import load_dataset

        ds = load_dataset(source)
    return ds.select_modalities(modalities.split(",")) if modalities else ds


def auroc(ds: MultimodalDataset, name: str, config: dict[str, Any], train: np.ndarray, test: np.ndarray) -> float:
    fit_part, val = holdout_indices(ds, train, 0.2, seed=0)
    probs = fit(name, SplitContext(ds, fit_part, val), config).predict_proba(test)
    if probs.shape[1] > 2:  # multiclass: one-vs-rest, macro-averaged
        return float(roc_auc_score(ds.y[test], probs, multi_class="ovr", labels=list(range(probs.shape[1]))))
    return float(roc_auc_score(ds.y[test], probs[:, 1]))


def evaluate(ds: MultimodalDataset, name: str, config: dict[str, Any], outer: bool) -> tuple[float, float]:
    inner_scores, outer_scores = [], []
    for pool, test in kfold_indices(ds, 5, seed=0):
        for inner_train, inner_test in kfold_indices(ds, 3, seed=100, index=pool):
            inner_scores.append(auroc(ds, name, config, inner_train, inner_test))
        if outer:
            outer_scores.append(auroc(ds, name, config, pool, test))
    return float(np.mean(inner_scores)), float(np.mean(outer_scores)) if outer_scores else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--modalities", default=None)
    parser.add_argument("--candidates", required=True, help='JSON: {"label": ["model", {config}], ...}')
    parser.add_argument("--outer", action="store_true")
    args = parser.parse_args()
    ds = load(args.data, args.modalities)
    warnings.filterwarnings("ignore")
    for label, (name, config) in json.loads(args.candidates).items():
        start = time.perf_counter()
        inner, outer = evaluate(ds, name, config, args.outer)
        print(f"{label:40s} inner {inner:.3f}  outer {outer:.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
