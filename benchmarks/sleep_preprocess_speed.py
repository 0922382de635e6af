"""Benchmark: seed-003 preprocessing of one synthetic 8-hour, 2-channel night (960 epochs).

    python benchmarks/sleep_preprocess_speed.py [--repeats 7] [--json PATH]

Rows (median wall seconds over the repeats, after one warm-up run):

* ``features 100 Hz``: resample (a no-op) + zero-phase FIR band-pass + log-magnitude STFT of
  EEG and EOG, both at 100 Hz, all 960 epochs -> two (960, 29, 128) arrays;
* ``features 256 Hz``: the same from 256 Hz input (polyphase resampling 25/64 included);
* ``end to end 100/256 Hz``: ``load_sleep`` of the night written as PSG + hypnogram EDF files,
  cache off (EDF reading, quality checks, hypnogram, stage steps and the above).

Target: the features rows <= 2 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from omnifuse.data.sleep.config import SleepSettings
from omnifuse.data.sleep.loader import load_sleep
from omnifuse.data.sleep.preprocess import channel_features
from omnifuse.data.sleep.simulate_signals import simulate_signals
from omnifuse.data.sleep.simulate_stages import simulate_stages
from omnifuse.data.sleep.write import SignalChannel, write_hypnogram, write_psg

N_EPOCHS = 960


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up (imports, FIR design cache, allocator)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def night(rate: int, seed: int = 0) -> tuple[list[str], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    stages = simulate_stages(rng, N_EPOCHS)
    signals = simulate_signals(rng, stages)
    if rate != 100:
        g = np.gcd(rate, 100)
        signals = {m: resample_poly(x, rate // g, 100 // g) if m != "emg" else x for m, x in signals.items()}
    return stages, signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    settings = SleepSettings()
    positions = np.arange(N_EPOCHS)
    results: dict[str, float] = {}
    for rate in (100, 256):
        stages, signals = night(rate)

        def features() -> None:
            for m in ("eeg", "eog"):
                out = channel_features(signals[m], rate, settings.band(m), positions, settings)
                assert out.shape == (N_EPOCHS, 29, 128)

        results[f"features {rate} Hz"] = median_seconds(features, args.repeats)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            write_psg(folder / "night-PSG.edf", {
                "EEG Fpz-Cz": SignalChannel(signals["eeg"], rate), "EOG horizontal": SignalChannel(signals["eog"], rate, -1000, 1000),
            })  # fmt: skip
            write_hypnogram(folder / "night-Hypnogram.edf", stages)
            os.environ["OMNIFUSE_CACHE"] = "off"
            results[f"end to end {rate} Hz"] = median_seconds(
                lambda: load_sleep(folder, require_all_stages=False, use_cache=False), args.repeats
            )
    print(f"one 8-hour night, 2 channels, {N_EPOCHS} epochs; median of {args.repeats} runs ({os.cpu_count()} CPUs)")
    for name, seconds in results.items():
        print(f"  {name:<20} {seconds:6.3f} s")
    if args.json:
        args.json.write_text(
            json.dumps({"n_epochs": N_EPOCHS, "repeats": args.repeats, "median_seconds": results}, indent=2)
        )


if __name__ == "__main__":
    main()
