"""Benchmark: OmniFuse's TLA mining cost and training time per epoch.

    python benchmarks/omnifuse_speed.py tla [--samples 2000]         # M = 3, 5, 8 simulated
    python benchmarks/omnifuse_speed.py physionet [--data PATH]      # sets a+b, 8000 stays

TLA: mining (all 2^M - 1 combinations, or for M = 8 above the exhaustive limit of 6 the
singles plus 32 random combinations) is timed inside the run and compared with the time
of the training epoch it follows. PhysioNet: wall time of each training epoch of OmniFuse
on all stays of sets a and b (10% held out for early-stopping validation), for both GRU-D
variants.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from omnifuse.data.splits import holdout_indices
from omnifuse.training.fit import SplitContext, fit

REPO = Path(__file__).resolve().parents[1]


class EpochTimer(L.Callback):
    """Wall time of each training epoch, mining excluded (it runs in the epoch-end hook)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.seconds: list[float] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.starts.append(time.perf_counter())

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self.last = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds.append(self.last - self.starts[-1])


def tla(samples: int, epochs: int) -> None:
    from omnifuse.data.simulate import make_lowquality

    print("| M | combinations mined | epoch s (median) | mining s (median) | mining / epoch |\n|---|---|---|---|---|")
    for m in (3, 5, 8):
        ds, _ = make_lowquality(m, n_samples=samples, seed=0)
        idx = np.arange(len(ds))
        train, val = holdout_indices(ds, idx, 0.2, seed=0)
        timer = EpochTimer()
        fitted = fit(
            "omnifuse", SplitContext(ds, train, val), {"max_epochs": epochs, "patience": 100}, callbacks=[timer]
        )
        trace = fitted.history["omnifuse"]["lazy_history"]
        mining = [e["mining_seconds"] for e in trace]
        epoch = statistics.median(timer.seconds)
        print(
            f"| {m} | {len(trace[-1]['scores'])} | {epoch:.2f} | {statistics.median(mining):.2f} | "
            f"{statistics.median(mining) / epoch:.2f} |"
        )


def physionet(data: Path, epochs: int) -> None:
    from omnifuse.data.loaders import load_dataset

    ds = load_dataset(data)
    train, val = holdout_indices(ds, np.arange(len(ds)), 0.1, seed=0)
    print("| GRU-D variant | train stays | epoch s (median) | epochs |\n|---|---|---|---|")
    for hidden_decay in (False, True):
        timer = EpochTimer()
        cfg = {
            "max_epochs": epochs,
            "patience": 100,
            "batch_size": 128,
            "encoders": {"timeseries": {"type": "grud", "hidden_decay": hidden_decay}},
        }
        fit("omnifuse", SplitContext(ds, train, val), cfg, callbacks=[timer])
        label = "GRU-D (hidden decay, loop)" if hidden_decay else "GRU-D fused (nn.GRU)"
        print(f"| {label} | {len(train)} | {statistics.median(timer.seconds):.1f} | {len(timer.seconds)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("tla", "physionet"))
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "physionet2012")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    if args.what == "tla":
        tla(args.samples, args.epochs)
    else:
        physionet(args.data, args.epochs)


if __name__ == "__main__":
    main()
