"""Benchmark: preprocessing of the real Sleep-EDF night SC4001 (../shared/data/sleep_edf).

    python benchmarks/sleep_edf_real.py [--data ../shared/data/sleep_edf] [--repeats 5] [--json PATH]

Rows (median wall seconds over the repeats, in this process, imports excluded):

* ``cold``: ``load_dataset`` into an empty cache: EDF reading of the two 100 Hz channels
  (22 h each, 7.95 M samples), hypnogram, stage steps, resample/FIR band-pass/STFT of the
  kept epochs, quality statistics, and writing the cache entry;
* ``no cache``: the same with ``use_cache=False`` (nothing written);
* ``cached``: a second ``load_dataset`` of the same folder (reads the cache entry);
* ``read channels``: pyedflib reading and checking the two picked channels;
* ``features only``: ``channel_features`` of EEG and EOG on the kept epochs (signals in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from omnifuse.data.loaders import load_dataset
from omnifuse.data.sleep.config import DEFAULT_CHANNELS, SleepSettings
from omnifuse.data.sleep.edf import pick_channel, read_channel, read_header
from omnifuse.data.sleep.pairing import pair_recordings
from omnifuse.data.sleep.preprocess import channel_features
from omnifuse.data.sleep.recording import RecordingOptions, labelled_epochs

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "sleep_edf"


def median_seconds(run: Callable[[], object], repeats: int, setup: Callable[[], None] = lambda: None) -> float:
    times = []
    for _ in range(repeats):
        setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="sleep-bench-"))
    caches = iter(range(10_000))

    def fresh_cache() -> None:
        os.environ["OMNIFUSE_CACHE"] = str(scratch / f"cache{next(caches)}")

    fresh_cache()
    ds = load_dataset(args.data)  # warm-up: imports, FIR design
    results = {
        "cold": median_seconds(lambda: load_dataset(args.data), args.repeats, fresh_cache),
        "no cache": median_seconds(lambda: load_dataset(args.data, use_cache=False), args.repeats),
    }
    results["cached"] = median_seconds(lambda: load_dataset(args.data), args.repeats)
    rec = pair_recordings(args.data)[0][0]
    options = RecordingOptions(modalities=DEFAULT_CHANNELS, settings=SleepSettings())
    header = read_header(rec.psg)
    channels = {m: pick_channel(header, m, aliases) for m, aliases in DEFAULT_CHANNELS.items()}
    n_grid = int(min(c.duration for c in channels.values()) // options.settings.epoch_seconds)
    positions, _, epochs = labelled_epochs(rec, header, n_grid, options)
    signals = {m: read_channel(rec.psg, c) for m, c in channels.items()}
    results["read channels"] = median_seconds(
        lambda: [read_channel(rec.psg, c) for c in channels.values()], args.repeats
    )

    def features() -> None:
        for m, signal in signals.items():
            rate, band = channels[m].sampling_rate, options.settings.band(m)
            out = channel_features(signal, rate, band, positions, options.settings)
            assert out.shape == (len(ds), options.settings.n_frames, options.settings.n_bins)

    results["features only"] = median_seconds(features, args.repeats)
    shutil.rmtree(scratch, ignore_errors=True)
    psg, kept = rec.psg, epochs["kept"]
    print(
        f"{psg.name}: {epochs['grid']} epochs on the grid, {kept} kept, channels "
        f"{', '.join(f'{m}={c.label}' for m, c in channels.items())}; "
        f"median of {args.repeats} runs ({os.cpu_count()} CPUs)"
    )
    for name, seconds in results.items():
        print(f"  {name:<14} {seconds:6.3f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {"recording": psg.name, "epochs": epochs, "repeats": args.repeats, "median_seconds": results}, indent=2
            )
        )


if __name__ == "__main__":
    main()
