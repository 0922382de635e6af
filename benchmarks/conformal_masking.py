"""Benchmark: conformal sets when modalities go missing at test time, with and without masked
calibration.

    python benchmarks/conformal_masking.py --data ../shared/data/physionet2012 --train-split a \
        --test-split b --models sk-logreg,concat --config configs/physionet2012.yaml \
        [--coverage 0.9] [--by-class] [--rates 0,0.25,0.5,0.75] [--seeds 3] [--json OUT]

Each model is trained once on the training split with ``calibrate=temperature`` and
``conformal=COVERAGE`` (the temperature and the sets are fitted on the validation samples
carved from it). On the test split, each present modality of each stay is then dropped with
probability ``rate`` (``DropModality`` "any", ``--seeds`` draws per rate), and the sets are
scored twice: with the thresholds as fitted (patterns too rare among the validation stays use
validation stays with the other modalities hidden: ``source: masked``) and with only the
observed patterns' thresholds (rare patterns fall back to the pooled threshold, as before
masked calibration). Coverage is reported overall and for each true class: the guarantee is
marginal, so the rare class is covered less; ``--by-class`` calibrates one threshold per
class (``conformal_by_class=true``), which covers each class at the target.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from omnifuse.data.corrupt import DropModality
from omnifuse.data.loaders import load_dataset
from omnifuse.data.splits import holdout_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.training.config import load_config
from omnifuse.training.fit import FittedModel, SplitContext, fit
from omnifuse.uncertainty.conformal import set_coverage


def observed_only(fitted: FittedModel) -> FittedModel:
    """``fitted`` with the masked patterns' thresholds removed (they fall back to pooled)."""
    conformal = fitted.conformal
    assert conformal is not None
    kept = {k: v for k, v in conformal.patterns.items() if v.get("source", "observed") == "observed"}
    return replace(fitted, conformal=replace(conformal, patterns=kept))


def score(fitted: FittedModel, index: np.ndarray) -> dict[str, Any]:
    ds = fitted.context.dataset
    out = set_coverage(fitted.predict_sets(index), ds.y[index], class_names=list(ds.class_names))
    return {k: out[k] for k in ("coverage", "mean_size", "n")} | {
        "classes": {c: round(v["coverage"], 4) for c, v in out["classes"].items()}
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    ds = load_dataset(args.data)
    pool = ds.split_indices(args.train_split)
    test = ds.split_indices(args.test_split)
    rates = [float(r) for r in args.rates.split(",")]
    results: dict[str, Any] = {}
    for name in args.models.split(","):
        config = args.config if name.startswith(("concat", "omnifuse", "attention", "late")) else None
        overrides = ["calibrate=temperature", f"conformal={args.coverage}", f"conformal_by_class={args.by_class}"]
        cfg = load_config(config, overrides, model=name)
        train, val = holdout_indices(ds, pool, cfg.trainer.val_fraction, seed=cfg.trainer.seed)
        start = time.perf_counter()
        fitted = fit(name, SplitContext(ds, train, val), cfg)
        assert fitted.conformal is not None and fitted.calibration is not None
        entry: dict[str, Any] = {
            "fit_seconds": round(time.perf_counter() - start, 1),
            "temperature": fitted.calibration.temperature,
            "auroc": compute_metrics(fitted.predict_proba(test), ds.y[test], ds.task)["auroc"],
            "patterns": fitted.conformal.to_dict()["patterns"],
            "pooled_quantile": fitted.conformal.quantile,
            "rates": {},
        }
        for rate in rates:
            cells: dict[str, list[dict[str, Any]]] = {"masked": [], "observed_only": []}
            for seed in range(args.seeds if rate > 0 else 1):
                dropped = fitted.on_dataset(DropModality(None, rate)(ds, np.random.default_rng(seed)) if rate else ds)
                cells["masked"].append(score(dropped, test))
                cells["observed_only"].append(score(observed_only(dropped), test))
            entry["rates"][f"{rate:g}"] = {k: _mean(v) for k, v in cells.items()}
        results[name] = entry
        print(name, json.dumps(entry["rates"], indent=1), flush=True)
    return results


def _mean(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "coverage": float(np.mean([c["coverage"] for c in cells])),
        "mean_size": float(np.mean([c["mean_size"] for c in cells])),
        "classes": {k: float(np.mean([c["classes"][k] for c in cells])) for k in cells[0]["classes"]},
        "draws": len(cells),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--train-split", default="a")
    parser.add_argument("--test-split", default="b")
    parser.add_argument("--models", default="sk-logreg,concat")
    parser.add_argument("--config", default=None)
    parser.add_argument("--coverage", type=float, default=0.9)
    parser.add_argument("--by-class", action="store_true", help="One threshold per class too.")
    parser.add_argument("--rates", default="0,0.25,0.5,0.75")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = run(args)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)}, "results": results}, indent=2))


if __name__ == "__main__":
    main()
