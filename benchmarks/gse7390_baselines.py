"""Cross-validated Harrell's C of the scikit-survival baselines (cox, rsf) on GSE7390.

Write the cohort first (``python benchmarks/gse7390.py OUT_DIR``), then::

    python benchmarks/gse7390_baselines.py OUT_DIR [--folds 5] [--seed 0] [--tune]

Each outer fold standardises the flat features with its training samples only (the trainer's
:class:`~omnifuse.training.fit.SplitContext`), fits ``cox`` and ``rsf`` with their default
options through the model classes and scores Harrell's C of the risk score on the held-out
fold. ``--tune`` adds a nested run: each option of a small grid is scored by an inner k-fold
CV of the outer training samples alone, and the best is refitted on them and scored on the
outer test fold (the test fold never picks an option).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders import load_dataset
from omnifuse.data.splits import kfold_indices
from omnifuse.models import get_model
from omnifuse.survival import harrell_c
from omnifuse.training.fit import SplitContext

MODELS = ("cox", "rsf")
#: The options ``--tune`` compares by inner cross-validation (model -> list of ``model`` options).
GRID: dict[str, list[dict[str, Any]]] = {
    "cox": [{"alpha": a} for a in (0.1, 1.0, 10.0, 100.0, 1000.0)],
    "rsf": [{"min_samples_leaf": leaf, "max_features": f} for leaf in (3, 10, 20) for f in ("sqrt", 0.5)],
}


def fit_score(
    ds: MultimodalDataset, name: str, options: dict[str, Any], train: np.ndarray, test: np.ndarray, seed: int
) -> float:
    """Harrell's C on ``test`` of model ``name`` with ``options`` fitted on ``train``."""
    entry = get_model(name)
    assert entry.config_class is not None
    model = entry.build(ds, entry.config_class.load({"model": options}, name))
    x = SplitContext(ds, train).flat()
    model.fit(x[train], ds.y[train], seed=seed)
    return harrell_c(ds.labels.time[test], ds.labels.event[test], model.predict_proba(x[test])[:, 0])


def tuned(ds: MultimodalDataset, name: str, train: np.ndarray, folds: int, seed: int) -> dict[str, Any]:
    """The option of :data:`GRID` with the best mean inner-CV Harrell's C on ``train`` alone."""
    inner = kfold_indices(ds, folds, seed=seed, index=train)
    scores = [np.mean([fit_score(ds, name, opts, a, b, seed) for a, b in inner]) for opts in GRID[name]]
    return GRID[name][int(np.argmax(scores))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="The folder benchmarks/gse7390.py wrote.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="Fold assignment and model random state.")
    parser.add_argument("--tune", action="store_true", help="Also run the nested (inner-CV tuned) comparison.")
    args = parser.parse_args()
    ds = load_dataset(args.data)
    counts = ds.labels.counts()
    print(f"{len(ds)} patients, {counts['events']} events; {args.folds}-fold CV (seed {args.seed})")
    outer = kfold_indices(ds, args.folds, seed=args.seed)
    runs: dict[str, list[float]] = {}
    for name in MODELS:
        start = time.perf_counter()
        runs[name] = [fit_score(ds, name, {}, train, test, args.seed) for train, test in outer]
        print(_row(name, runs[name], time.perf_counter() - start))
    if args.tune:
        for name in MODELS:
            start = time.perf_counter()
            scores, chosen = [], []
            for train, test in outer:
                options = tuned(ds, name, train, args.folds, args.seed)
                chosen.append(options)
                scores.append(fit_score(ds, name, options, train, test, args.seed))
            print(_row(f"{name} (tuned)", scores, time.perf_counter() - start))
            print(f"    chosen per fold: {chosen}")


def _row(label: str, scores: list[float], seconds: float) -> str:
    folds = " ".join(f"{s:.3f}" for s in scores)
    return f"{label:12s} Harrell's C per fold: {folds}  mean {np.mean(scores):.3f} (sd {np.std(scores, ddof=1):.3f}), {seconds:.0f}s"


if __name__ == "__main__":
    main()
