"""Benchmark: MedFuseSleep (seed 003) inference on one 8-hour night and training throughput.

    python benchmarks/sleep_model_speed.py [--repeats 5] [--train-epochs 2] [--json PATH]
    python benchmarks/sleep_model_speed.py --quick          # smoke run (small data, 1 repeat)
    python benchmarks/sleep_model_speed.py --models medfusesleep:paper   # one configuration

Data are synthetic Sleep-EDF-like nights (``simulate_sleep`` -> ``load_sleep``, cache off;
EEG + EOG, each epoch a (29, 128) log STFT); loading is not timed.

* **Inference**: ``FittedModel.predict_proba`` over every epoch of one simulated 8-hour night
  (960 epochs asked; wake trimming may drop a few, the actual count is printed), on a model
  fitted to other nights (``on_samples``: the training standardisation is kept; preparing
  that context is timed apart). That is the sequence path of :mod:`omnifuse.training.sequences`
  (tiled 21-epoch windows, overlaps averaged). One warm-up call, then the median [min-max] of
  ``--repeats`` calls, with ``torch.set_num_threads`` 2 (the target's "2 cores"; 1 thread
  too, for comparison). Target: <= 5 s on 2 cores. Accuracy is irrelevant here: the models
  are those of the training rows below (a few epochs).
* **Training**: ``fit`` for ``--train-epochs`` epochs on ``--train-nights`` simulated nights
  (a tiny validation set of two 21-epoch windows of one more night; early stopping off), at
  config ``num_threads`` 1 and 2. ``fit s`` is the wall time of the whole ``fit`` call (model
  build, Trainer set-up, validation included) and ``fit epochs/s`` = training epochs of
  signal x training epochs / ``fit s`` (what a user sees). ``loop epochs/s`` counts the rows
  of the training batches only (forward, backward, optimiser step; no validation, no set-up),
  median over the training epochs; a row is one 30 s epoch of both modalities, and a run's
  tiling adds a few rows where windows overlap at its ends.

A short warm-up ``fit`` (1 thread, 1 epoch) runs first and is not counted. Other processes
share the cores, and an OpenMP team of 2 threads stalls at every barrier whenever one core is
taken by someone else, so each row also reports ``CPU/wall`` (this process's CPU seconds over
wall seconds: ~threads when nothing competes) and ``others`` (cores kept busy by every other
process meanwhile, from ``/proc/stat``; Linux only). Numbers with ``others`` near 1 are not
those of an idle 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.sleep import load_sleep, simulate_sleep
from omnifuse.training.fit import FittedModel, SplitContext, fit

TARGET_SECONDS = 5.0
#: (registered model, model.size) trained and timed; the baselines in the small size only.
MODELS = (
    ("medfusesleep", "small"),
    ("medfusesleep", "paper"),
    ("medfusesleep-base", "small"),
    ("early-sleep", "small"),
    ("midlate-sleep", "small"),
)
#: The inference rows: MedFuseSleep in both sizes (the others are cheap and follow "small").
INFER = (("medfusesleep", "small"), ("medfusesleep", "paper"))


def busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (``/proc/stat``), None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Contention:
    """Wall, own CPU and other processes' CPU (in cores) over a ``with`` block."""

    def __enter__(self) -> "Contention":
        self._wall, self._cpu, self._busy = time.perf_counter(), time.process_time(), busy_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        busy = busy_seconds()
        self.others = (None if busy is None or self._busy is None
                       else max(0.0, (busy - self._busy - self.cpu) / self.wall))  # fmt: skip


class LoopTimer(L.Callback):
    """Per training epoch: wall and CPU seconds from its start to its last batch, rows seen."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.cpu: list[float] = []
        self.rows: list[int] = []

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start, self._cpu, self._rows = time.perf_counter(), time.process_time(), 0

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:  # fmt: skip
        self._last, self._last_cpu = time.perf_counter(), time.process_time()
        self._rows += int(batch["mask"].shape[0])

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.seconds.append(self._last - self._start)
        self.cpu.append(self._last_cpu - self._cpu)
        self.rows.append(self._rows)


@dataclass
class TrainRow:
    model: str
    size: str
    num_threads: int
    params: int
    train_epochs_of_signal: int
    training_epochs: int
    fit_seconds: float
    fit_epochs_per_s: float
    loop_rows_per_epoch: int
    loop_seconds_median: float
    loop_epochs_per_s: float
    loop_cpu_per_wall: float
    others_cores: float | None


@dataclass
class InferRow:
    model: str
    size: str
    num_threads: int
    night_epochs: int
    context_seconds: float
    seconds_median: float
    seconds_min: float
    seconds_max: float
    epochs_per_s: float
    cpu_per_wall: float
    others_cores: float | None
    meets_target: bool


def cores(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def simulated(folder: Path, n_nights: int, n_epochs: int, seed: int) -> MultimodalDataset:
    simulate_sleep(folder, n_nights, n_epochs, seed=seed)
    return load_sleep(folder, require_all_stages=False, use_cache=False)


def train_split(ds: MultimodalDataset) -> tuple[np.ndarray, np.ndarray]:
    """All recordings but the last for training; two 21-epoch windows of the last for validation."""
    groups = np.asarray(ds.groups)
    last = sorted(set(groups.tolist()))[-1]
    return np.flatnonzero(groups != last), np.flatnonzero(groups == last)[:42]


def config(size: str, threads: int, epochs: int, batch_size: int) -> dict[str, Any]:
    return {"max_epochs": epochs, "min_epochs": epochs, "patience": 1000, "batch_size": batch_size,
            "num_threads": threads, "model": {"size": size}}  # fmt: skip


def train_row(name: str, size: str, threads: int, context: SplitContext, epochs: int,
              batch_size: int) -> tuple[TrainRow, FittedModel]:  # fmt: skip
    timer = LoopTimer()
    with Contention() as usage:
        fitted = fit(name, context, config(size, threads, epochs, batch_size), callbacks=[timer])
    seconds = usage.wall
    n = len(context.train)
    loop = statistics.median(timer.seconds)
    rows = int(statistics.median(timer.rows))
    row = TrainRow(name, size, threads, fitted.n_params(), n, len(timer.seconds), seconds,
                   n * len(timer.seconds) / seconds, rows, loop, rows / loop,
                   sum(timer.cpu) / sum(timer.seconds), usage.others)  # fmt: skip
    return row, fitted


def infer_row(fitted: FittedModel, size: str, night: MultimodalDataset, threads: int, repeats: int) -> InferRow:
    start = time.perf_counter()
    on_night = fitted.on_samples(night)  # standardise with the training statistics + collate
    context_seconds = time.perf_counter() - start
    torch.set_num_threads(threads)
    index = np.arange(len(night))
    probs = on_night.predict_proba(index)  # warm-up
    assert probs.shape == (len(night), len(night.class_names)), probs.shape
    times = []
    with Contention() as usage:
        for _ in range(repeats):
            start = time.perf_counter()
            on_night.predict_proba(index)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return InferRow(fitted.name, size, threads, len(night), context_seconds, median, min(times), max(times),
                    len(night) / median, usage.cpu / usage.wall, usage.others, median <= TARGET_SECONDS)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed inference calls (after one warm-up)")
    parser.add_argument("--night-epochs", type=int, default=960, help="epochs of the inference night (8 h = 960)")
    parser.add_argument("--train-nights", type=int, default=4, help="simulated nights to train on")
    parser.add_argument("--train-night-epochs", type=int, default=240, help="epochs per training night")
    parser.add_argument("--train-epochs", type=int, default=2, help="training epochs per fit")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=336,
        help="rows per training batch (configs/medfusesleep-paper.yaml: 16 x 21 = 336)",
    )
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="num_threads of the training runs")
    parser.add_argument("--infer-threads", type=int, nargs="+", default=[2, 1], help="torch threads for inference")
    parser.add_argument(
        "--models",
        nargs="+",
        default=[f"{n}:{z}" for n, z in MODELS],
        metavar="NAME:SIZE",
        help="subset of the trained models (inference rows: the medfusesleep ones among them)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny data, 1 repeat, 1 training epoch")
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.night_epochs, args.train_nights, args.train_night_epochs, args.train_epochs = (
            1,
            120,
            2,
            63,
            1,
        )
    chosen = [(m.partition(":")[0], m.partition(":")[2]) for m in args.models]
    if unknown := [f"{n}:{z}" for n, z in chosen if (n, z) not in MODELS]:
        parser.error(f"unknown --models {unknown} (choose among {[f'{n}:{z}' for n, z in MODELS]})")
    warnings.filterwarnings("ignore")
    load_before = os.getloadavg()
    total = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="omnifuse-sleep-bench-") as tmp:
        night = simulated(Path(tmp) / "night", 1, args.night_epochs, seed=0)
        train_ds = simulated(Path(tmp) / "train", args.train_nights + 1, args.train_night_epochs, seed=1)
    train, val = train_split(train_ds)
    context = SplitContext(train_ds, train, val)

    start = time.perf_counter()
    fit("medfusesleep", context, config("small", 1, 1, args.batch_size))  # one-off costs of the first fit
    warmup = time.perf_counter() - start

    training: list[TrainRow] = []
    fitted: dict[tuple[str, str], FittedModel] = {}
    for name, size in chosen:
        for threads in args.threads:
            row, model = train_row(name, size, threads, context, args.train_epochs, args.batch_size)
            training.append(row)
            fitted[(name, size)] = model
            print(f"  trained {name} ({size}, {threads} thread(s)): {row.fit_seconds:.1f} s", flush=True)

    inference = [infer_row(fitted[key], key[1], night, threads, args.repeats)
                 for key in INFER if key in fitted for threads in args.infer_threads]  # fmt: skip
    load_after = os.getloadavg()

    print(f"\nMedFuseSleep (seed 003) speed: torch {torch.__version__}, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"Python {platform.python_version()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
          f"warm-up fit {warmup:.1f} s (not counted); total {time.perf_counter() - total:.0f} s\n")  # fmt: skip
    print(f"Inference: one night of {len(night)} epochs x 2 modalities (eeg, eog; asked {args.night_epochs}), "
          f"predict_proba over 21-epoch windows; median [min-max] of {args.repeats} after 1 warm-up; "
          f"target <= {TARGET_SECONDS:.0f} s on 2 cores\n")  # fmt: skip
    print("| model | size | torch threads | predict s | epochs/s | CPU/wall | others | on_samples s | <= 5 s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in inference:
        print(f"| {r.model} | {r.size} | {r.num_threads} | {r.seconds_median:.2f} [{r.seconds_min:.2f}-{r.seconds_max:.2f}] | "
              f"{r.epochs_per_s:.0f} | {r.cpu_per_wall:.2f} | {cores(r.others_cores)} | {r.context_seconds:.2f} | {'yes' if r.meets_target else 'NO'} |")  # fmt: skip
    print(f"\nTraining: {len(train)} epochs of signal ({args.train_nights} nights), validation {len(val)}, "
          f"batch {args.batch_size} rows ({args.batch_size // 21} windows of 21), {args.train_epochs} training epochs per fit\n")  # fmt: skip
    print(
        "| model | size | params | num_threads | fit s | fit epochs/s | loop rows/epoch | loop s/epoch | loop epochs/s | CPU/wall | others |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for t in training:
        print(f"| {t.model} | {t.size} | {t.params:,} | {t.num_threads} | {t.fit_seconds:.1f} | {t.fit_epochs_per_s:.0f} | "
              f"{t.loop_rows_per_epoch} | {t.loop_seconds_median:.2f} | {t.loop_epochs_per_s:.0f} | {t.loop_cpu_per_wall:.2f} | {cores(t.others_cores)} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({
            "machine": {"cpus": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
                        "torch": torch.__version__, "loadavg_before": load_before, "loadavg_after": load_after},
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "night_epochs": len(night), "train_epochs_of_signal": len(train), "val_epochs": len(val),
            "warmup_fit_seconds": warmup, "target_seconds": TARGET_SECONDS,
            "inference": [asdict(r) for r in inference], "training": [asdict(t) for t in training],
        }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
