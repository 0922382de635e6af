"""Choose the time-series encoder of configs/physionet2012.yaml on PhysioNet 2012 set a only.

    python benchmarks/physionet_select.py --out benchmarks/results/physionet_select
    python benchmarks/physionet_select.py --candidates summary,summary+grud --out ...

Set b is never loaded into the comparison: the dataset is cut to set a, a grouped,
stratified quarter of set a is held out as the selection set ("select"), and every
candidate config is trained on the rest ("fit", of which the benchmark carves its usual
validation share for early stopping) with ``run_benchmark``, so all candidates see identical
splits and standardisation. Each candidate is the base config with its encoder options
replacing the base's ``encoders.timeseries``. Writes one ``<candidate>.json`` (the benchmark document) per candidate and
``selection.md`` (AUROC on the selection set per candidate and model).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from omnifuse.data.loaders.physionet import load_physionet2012
from omnifuse.data.splits import holdout_indices
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.training.config import merge

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "physionet2012"
BASE = REPO / "configs" / "physionet2012.yaml"
GRUD = {"type": "grud", "hidden_decay": False}
SUMMARY = {"type": "summary", "time_scale": 24.0}

#: Candidate overrides of the base config (encoders.timeseries applies to labs and vitals).
CANDIDATES: dict[str, dict[str, Any]] = {
    "grud": {"encoders": {"timeseries": GRUD}},
    "summary": {"encoders": {"timeseries": SUMMARY}},
    "summary-256-d0.3": {"encoders": {"timeseries": {**SUMMARY, "hidden": [256], "dropout": 0.3}}},
    "summary-256-d0.5": {"encoders": {"timeseries": {**SUMMARY, "hidden": [256], "dropout": 0.5}}},
    "summary-256x128-d0.3": {"encoders": {"timeseries": {**SUMMARY, "hidden": [256, 128], "dropout": 0.3}}},
    "summary-baseline-stats": {
        "encoders": {"timeseries": {**SUMMARY, "stats": ["mean", "last", "min", "max", "observed"]}}
    },
    "summary-wd1e-3": {"encoders": {"timeseries": SUMMARY}, "weight_decay": 1e-3},
    "summary+grud": {
        "encoders": {"timeseries": {**SUMMARY, "sequence": "grud", "sequence_options": {"hidden_decay": False}}}
    },
}


def set_a_holdout(data: Path, fraction: float, seed: int):  # noqa: ANN201
    """Set a of PhysioNet with splits relabelled "fit" / "select" (grouped, stratified)."""
    ds = load_physionet2012(data)
    ds = ds.subset(ds.split_indices("a"))
    fit_idx, select_idx = holdout_indices(ds, np.arange(len(ds)), fraction, seed=seed)
    splits = np.full(len(ds), "fit", dtype=object)
    splits[select_idx] = "select"
    return ds.replace(splits=splits.astype(str)), len(fit_idx), len(select_idx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--models", default="concat,omnifuse")
    parser.add_argument("--fraction", type=float, default=0.25, help="share of set a held out for selection")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="key=value merged into every candidate (e.g. max_epochs=5)",
    )
    args = parser.parse_args()
    from omnifuse.training.config import parse_overrides

    base = merge(yaml.safe_load(BASE.read_text()) or {}, parse_overrides(args.overrides))
    ds, n_fit, n_select = set_a_holdout(args.data, args.fraction, args.seed)
    print(f"set a: {n_fit} fit, {n_select} select stays", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    models = args.models.split(",")
    for name in args.candidates.split(","):
        config = merge(base, CANDIDATES[name])
        config["encoders"] = {**base.get("encoders", {}), **CANDIDATES[name]["encoders"]}  # replace, not merge
        start = time.perf_counter()
        doc = run_benchmark(
            ds,
            models,
            train_split="fit",
            test_split="select",
            seeds=1,
            config=config,
            on_step=lambda m, r, c=name: print(f"[{c}] {m} ({r})", flush=True),
        ).model_dump(mode="json")
        doc["candidate"], doc["wall_seconds"] = name, time.perf_counter() - start
        (args.out / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str))
        aurocs = {m: round(doc["methods"][m]["metrics"]["auroc"]["mean"], 4) for m in models}
        print(f"[{name}] AUROC on the set-a selection holdout: {aurocs} ({doc['wall_seconds']:.0f} s)", flush=True)
    write_table(args.out, models)


def write_table(out: Path, models: list[str]) -> None:
    """``selection.md``: AUROC [95% bootstrap CI] on the selection set, per candidate (all runs in ``out``)."""
    lines = ["| candidate | " + " | ".join(models) + " | mean | train s/fit |", "|---" * (len(models) + 3) + "|"]
    for path in sorted(out.glob("*.json")):
        doc = json.loads(path.read_text())
        cells, means, secs = [], [], []
        for m in models:
            rec = doc["methods"].get(m)
            if rec is None:
                cells.append("-")
                continue
            a = rec["metrics"]["auroc"]
            cells.append(f"{a['mean']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]")
            means.append(a["mean"])
            secs.append(rec["train_seconds"])
        mean = f"{np.mean(means):.3f}" if means else "-"
        lines.append(
            f"| {doc.get('candidate', path.stem)} | " + " | ".join(cells) + f" | {mean} | {np.mean(secs):.0f} |"
        )
    (out / "selection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
