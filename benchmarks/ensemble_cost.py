"""What a seed ensemble costs: training seconds of K members against one model.

    python benchmarks/ensemble_cost.py --data ../shared/data/brca_recurrence --model concat --members 5

Trains one model and one K-member ensemble on the same split (seed 0, 20% of the cohort as
test, 20% of the rest for early stopping), ``--repeats`` times, and prints the median
training seconds of each and their ratio (the target: ratio <= K).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

from omnifuse.data.loaders import load_dataset
from omnifuse.data.splits import holdout_indices
from omnifuse.training.fit import SplitContext, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="concat")
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    ds = load_dataset(args.data)
    pool, _ = holdout_indices(ds, np.arange(len(ds)), 0.2, seed=0)
    train, val = holdout_indices(ds, pool, 0.2, seed=0)
    context = SplitContext(ds, train, val)
    single, ensemble = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        fit(args.model, context)
        single.append(time.perf_counter() - start)
        start = time.perf_counter()
        fit(args.model, context, {"ensemble": args.members})
        ensemble.append(time.perf_counter() - start)
    one, many = statistics.median(single), statistics.median(ensemble)
    print(
        f"{args.model}: one model {one:.2f} s, {args.members} members {many:.2f} s, "
        f"ratio {many / one:.2f} (target <= {args.members})"
    )


if __name__ == "__main__":
    main()
