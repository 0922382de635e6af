"""Benchmark: `omnifuse serve` under load, a real uvicorn server on loopback.

    python benchmarks/serve_load.py [--data ../shared/data/breast_tcga] [--model omnifuse]
        [--requests 10000] [--concurrency 32] [--time-limit 120] [--json OUT]

Trains ``--model`` (a few epochs; speed does not depend on quality) on TCGA breast cancer,
or on a simulated 3-modality cohort when the folder is absent, saves the run, starts
``omnifuse serve --run RUN --threads 1`` in a subprocess, and sends one-patient
``POST /predict`` requests from ``--concurrency`` concurrent clients (httpx.AsyncClient,
keep-alive) until ``--requests`` are answered or ``--time-limit`` seconds pass, for:

* ``all modalities``: a training patient with mRNA, miRNA and protein (real values);
* ``partial``: a test patient with mRNA and miRNA only (protein absent and imputed);

each in three loads: ``saturating`` (closed loop: every client sends again as soon as it is
answered), ``paced`` (open loop: arrivals at ``--rate`` requests/s, default 200, the target
throughput, spread over the same clients; latency counted from each request's due time), and
``sequential`` (one client, one request after another: the service time). Latency is client-side (request sent -> response read),
throughput is answered requests per wall-clock second. With C concurrent clients, queueing
makes latency about C / throughput (Little's law): p50 <= 10 ms at 32 clients would need
3,200 requests/s, so the sequential rows are the service latency.

The load generator runs on the same machine (it takes CPU from the server); /proc/loadavg
is recorded before and after, and the CPU seconds the server and the generator used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BREAST = ROOT.parent / "shared" / "data" / "breast_tcga"


def train_run(data: Path | None, model: str, folder: Path) -> tuple[Path, Any]:
    """Train ``model`` and save RUN/bundle; returns the run folder and the dataset."""
    from omnifuse.data.loaders import load_dataset
    from omnifuse.data.simulate import default_cohort
    from omnifuse.data.splits import holdout_indices
    from omnifuse.serving import save_bundle
    from omnifuse.training.fit import SplitContext, fit

    if data is not None and data.exists():
        ds = load_dataset(data)
        pool = ds.split_indices("train") if ds.splits is not None else np.arange(len(ds))
    else:
        ds = default_cohort(3, seed=0, n_samples=300)[0]
        pool = np.arange(len(ds))
    train, val = holdout_indices(ds, pool, 0.2, seed=0)
    save_bundle(fit(model, SplitContext(ds, train, val), {"max_epochs": 5}), folder / "bundle")
    return folder, ds


def payloads(ds: Any) -> dict[str, bytes]:
    """Request bodies: a patient with every modality, and one without the last modality
    (protein on TCGA breast: the real test set's pattern)."""
    full = int(np.flatnonzero(ds.mask.all(axis=1))[0])
    keep = list(ds.modalities[:-1])
    bodies = {}
    for label, names in (("all modalities", list(ds.modalities)), ("partial (" + "+".join(keep) + ")", keep)):
        modalities = {}
        for m in names:
            data = ds.data[m]
            if hasattr(data, "times"):  # an irregular time series: observations
                n = int(data.lengths[full])
                modalities[m] = [
                    {
                        "time": float(data.times[full, t]),
                        **{
                            c: float(v)
                            for c, v in zip(ds.specs[m].feature_names, data.values[full, t])
                            if not np.isnan(v)
                        },
                    }
                    for t in range(n)
                ]
            else:
                modalities[m] = {f: float(v) for f, v in zip(ds.specs[m].feature_names, data[full]) if not np.isnan(v)}
        bodies[label] = json.dumps({"modalities": modalities}).encode()
    return bodies


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(run: Path, port: int) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("omnifuse")
    env = {k: v for k, v in os.environ.items() if k != "OMNIFUSE_API_TOKEN"}
    proc = subprocess.Popen(
        [str(exe), "serve", "--run", str(run), "--port", str(port), "--threads", "1", "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start within 60 s")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(
    url: str, body: bytes, total: int, concurrency: int, time_limit: float, rate: float | None = None
) -> dict[str, Any]:
    """``total`` POSTs of ``body`` from ``concurrency`` clients, or until ``time_limit``.

    Without ``rate`` each client sends its next request as soon as the last one is answered
    (closed loop: the server is saturated). With ``rate`` request k is due at ``k / rate``
    seconds (open loop, paced arrivals) and its latency counts from that due time, so time
    spent waiting for a free client is included (no coordinated omission).
    """
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    headers = {"content-type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        start = time.perf_counter()
        deadline = start + time_limit

        async def worker() -> None:
            nonlocal issued
            while issued < total and time.perf_counter() < deadline:
                k = issued
                issued += 1
                t0 = time.perf_counter()
                if rate is not None:
                    due = start + k / rate
                    if due > t0:
                        await asyncio.sleep(due - t0)
                    t0 = due
                try:
                    r = await client.post(url, content=body, headers=headers)
                    if r.status_code != 200:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    return {
        "requests": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "timed_out": len(latencies) < total,
    }


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=BREAST)
    parser.add_argument("--model", default="omnifuse")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=1000, help="requests of the single-client rows")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per row at most")
    parser.add_argument("--rate", type=float, default=200.0, help="arrival rate of the paced rows (requests/s)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMNIFUSE_CACHE", "off")
    with tempfile.TemporaryDirectory(prefix="serve_load.") as tmp:
        run, ds = train_run(args.data, args.model, Path(tmp) / "run")
        bodies = payloads(ds)
        port = free_port()
        url = f"http://127.0.0.1:{port}/predict"
        before = loadavg()
        server = start_server(run, port)
        rows = []
        try:
            for label, body in bodies.items():
                asyncio.run(load(url, body, 200, args.concurrency, 30))  # warm-up
                for mode, total, conc, rate in (
                    ("saturating", args.requests, args.concurrency, None),
                    (f"paced {args.rate:g}/s", args.requests, args.concurrency, args.rate),
                    ("sequential", args.sequential, 1, None),
                ):
                    s0, g0 = cpu_seconds(server.pid), resource.getrusage(resource.RUSAGE_SELF)
                    result = asyncio.run(load(url, body, total, conc, args.time_limit, rate))
                    g1 = resource.getrusage(resource.RUSAGE_SELF)
                    result.update(
                        scenario=label,
                        mode=mode if conc > 1 else mode,
                        concurrency=conc,
                        body_bytes=len(body),
                        server_cpu_s=round(cpu_seconds(server.pid) - s0, 1),
                        client_cpu_s=round(g1.ru_utime + g1.ru_stime - g0.ru_utime - g0.ru_stime, 1),
                    )
                    rows.append(result)
                    print(
                        f"{label} / {mode}: {result['throughput_rps']} req/s, p50 {result['p50_ms']} ms, "
                        f"p99 {result['p99_ms']} ms, errors {result['errors']}",
                        file=sys.stderr,
                    )
        finally:
            server.terminate()
            server.wait(timeout=30)
        after = loadavg()
    doc = {
        "model": args.model,
        "data": str(args.data) if args.data.exists() else "simulated 3-modality cohort",
        "cpus": os.cpu_count(),
        "loadavg_before": before,
        "loadavg_after": after,
        "rows": rows,
        "targets": {"p50_ms": 10, "p99_ms": 50, "throughput_rps": 200, "errors": 0},
    }
    print(table(doc))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2))


def table(doc: dict[str, Any]) -> str:
    lines = [
        f"model {doc['model']} on {doc['data']}, {doc['cpus']} CPUs; load average before "
        f"{doc['loadavg_before']}, after {doc['loadavg_after']}",
        "",
        "| request | load | clients | requests | errors | req/s | p50 ms | p99 ms | max ms | server CPU s | client CPU s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['scenario']} | {r['mode']} | {r['concurrency']} | {r['requests']}{' (time limit)' if r['timed_out'] else ''} "
            f"| {r['errors']} | {r['throughput_rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} "
            f"| {r['server_cpu_s']} | {r['client_cpu_s']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
