"""Seed 003 section 4.5 on synthetic nights: does adding unimodal nights to training help?

A folder of multimodal (EEG + EOG) nights plus nights that have only one of the two is
loaded with ``missing_channel="absent"``. Multimodal nights are split by recording into
test / validation / a base training set; each model is trained on

* ``base``: the multimodal training nights only, and
* ``base+unimodal``: the same plus every unimodal night (alignment is computed only on
  epochs that have both modalities, as in the paper),

and scored on the same multimodal test nights with both modalities, EEG only and EOG only.
Repeated over seeds (different night assignments); mean and standard deviation reported.

    python benchmarks/sleep_incomplete.py --out benchmarks/results/sleep_incomplete.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from omnifuse.data.corrupt import DropPattern
from omnifuse.data.sleep import load_sleep, simulate_sleep
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.training.fit import SplitContext, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multimodal", type=int, default=8, help="multimodal nights")
    parser.add_argument("--unimodal", type=int, default=6, help="nights with EEG or EOG only")
    parser.add_argument("--epochs", type=int, default=120, help="30 s epochs per night")
    parser.add_argument("--models", default="medfusesleep,midlate-sleep")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        simulate_sleep(
            tmp, n_recordings=args.multimodal + args.unimodal, n_epochs=args.epochs, unimodal=args.unimodal, seed=0
        )
        ds = load_sleep(tmp, missing_channel="absent", use_cache=False)
    nights = np.unique(ds.groups)
    complete = np.array([ds.mask[ds.groups == n].all() for n in nights])
    multimodal, unimodal = nights[complete], nights[~complete]
    print(f"{len(multimodal)} multimodal and {len(unimodal)} unimodal nights, {len(ds)} epochs")
    rows: dict[str, dict[str, list[float]]] = {}
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(multimodal)
        test_n, val_n = order[:2], order[2:3]
        base_n = order[3:]
        idx = {
            k: np.flatnonzero(np.isin(ds.groups, v))
            for k, v in {"test": test_n, "val": val_n, "base": base_n, "uni": unimodal}.items()
        }
        test = ds.subset(idx["test"])
        views = {"eeg+eog": test, "eeg": DropPattern(("eeg",))(test, None), "eog": DropPattern(("eog",))(test, None)}
        for name in args.models.split(","):
            for regime, train in (("base", idx["base"]), ("base+unimodal", np.concatenate([idx["base"], idx["uni"]]))):
                start = time.perf_counter()
                fitted = fit(name, SplitContext(ds, train, idx["val"]), {"max_epochs": args.max_epochs, "seed": seed})
                for view, data in views.items():
                    probs = fitted.on_samples(data).predict_proba(np.arange(len(data)))
                    metrics = compute_metrics(probs, data.y, data.task)
                    for metric in ("accuracy", "kappa", "macro_f1"):
                        rows.setdefault(f"{name} | {regime} | {view}", {}).setdefault(metric, []).append(
                            metrics[metric]
                        )
                print(f"seed {seed} {name} {regime}: {time.perf_counter() - start:.0f} s")
    print("\n| model | training nights | test modalities | accuracy | kappa | macro-F1 |\n|---|---|---|---|---|---|")
    summary = {}
    for key, metrics in rows.items():
        summary[key] = {
            m: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1)) if len(v) > 1 else None, "values": v}
            for m, v in metrics.items()
        }
        cells = " | ".join(f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f}" for v in metrics.values())
        print(f"| {key} | {cells} |")
    if args.out:
        args.out.write_text(
            json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "results": summary}, indent=2)
        )


if __name__ == "__main__":
    main()
