"""Benchmark: ingest of the PhysioNet/CinC 2012 sets (cold = parse + cache write, warm = cache).

Each measurement runs in a fresh subprocess, so the import of omnifuse (torch-free here, but
pandas/numpy) is timed separately from the load. Cold loads use a fresh, empty
``OMNIFUSE_CACHE``; the warm load that follows reuses it. Peak memory is the child's
``ru_maxrss``.

    python benchmarks/ingest_physionet.py [--data PATH] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "physionet2012"


def child(data: Path) -> None:
    """Run in the subprocess: time the import and one load, print one JSON line."""
    import resource

    t0 = time.perf_counter()
    from omnifuse.data.loaders.physionet import load_physionet2012

    t1 = time.perf_counter()
    ds = load_physionet2012(data, use_cache=True, progress=False)
    t2 = time.perf_counter()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "peak_rss_mb": rss_kb / 1024, "n": len(ds),
                      "deaths": int(ds.y.sum())}))  # fmt: skip


def run_child(data: Path, cache: Path) -> dict:
    env = dict(os.environ, OMNIFUSE_CACHE=str(cache))
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--data", str(data)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PhysioNet 2012 folder (set-a/b .tar.gz)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.data)
        return
    if not args.data.is_dir():
        sys.exit(f"{args.data}: no such directory (pass --data)")
    results: dict[str, list[dict]] = {"cold": [], "warm": []}
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="omnifuse-bench-") as tmp:
            results["cold"].append(run_child(args.data, Path(tmp)))
            results["warm"].append(run_child(args.data, Path(tmp)))
    first = results["cold"][0]
    print(f"PhysioNet 2012 ingest: {first['n']} stays ({first['deaths']} deaths) from {args.data}")
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}, "
          f"repeats={args.repeats} (median, [min-max])\n")  # fmt: skip
    print("| load | import (s) | ingest (s) | peak RSS (MB) |")
    print("|---|---|---|---|")
    for phase, label in (("cold", "cold (parse .tar.gz + write cache)"), ("warm", "warm (from cache)")):
        rows = results[phase]
        cells = []
        for key, fmt in (("import_s", "{:.2f}"), ("load_s", "{:.2f}"), ("peak_rss_mb", "{:.0f}")):
            values = [r[key] for r in rows]
            low, mid, high = (fmt.format(f(values)) for f in (min, statistics.median, max))
            cells.append(f"{mid} [{low}-{high}]")
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
