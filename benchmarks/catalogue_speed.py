"""Benchmark: wall time of `omnifuse benchmark` for 10 fusion methods x 5 folds on TCGA breast.

Runs the real command line in a subprocess (import and data loading included, as a user
sees it) and reports the wall time and the per-method mean training time from results.json.

    python benchmarks/catalogue_speed.py [--data PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "breast_tcga"
METHODS = "concat,sum,product,tensor,lmf,gmu,se-gate,attention,cross-attention,medfuse-lstm"


def main() -> None:
    from omnifuse.evaluation.documents import read_results

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=METHODS)
    args = parser.parse_args()
    omnifuse = Path(sys.executable).with_name("omnifuse")
    walls, per_method = [], {}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            subprocess.run(
                [
                    str(omnifuse),
                    "benchmark",
                    "--data",
                    str(args.data),
                    "--models",
                    args.models,
                    "--folds",
                    "5",
                    "--out",
                    out,
                ],
                check=True,
                capture_output=True,
            )
            walls.append(time.perf_counter() - start)
            results = read_results(Path(out) / "results.json")
            for name, method in results.methods.items():
                per_method.setdefault(name, []).append(method.train_seconds)
    print(f"| command | wall s (median [min-max] of {args.repeats}) |\n|---|---|")
    print(
        f"| omnifuse benchmark, {len(per_method)} methods x 5 folds | "
        f"{statistics.median(walls):.1f} [{min(walls):.1f}-{max(walls):.1f}] |\n"
    )
    print("| method | mean train s per fold |\n|---|---|")
    for name, values in per_method.items():
        print(f"| {name} | {statistics.median(values):.2f} |")


if __name__ == "__main__":
    main()
