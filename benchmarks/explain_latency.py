"""Benchmark: one-patient ``POST /predict`` latency with and without ``"explain": true``.

    python benchmarks/explain_latency.py [--run RUN] [--data ../shared/data/breast_tcga]
        [--requests 300] [--rounds 3] [--src SRC] [--compare-src ../main/src] [--explain-steps N] [--json OUT]

Serves the TCGA breast OmniFuse run ``--run`` (default: trains one for a few epochs;
latency does not depend on how well it is trained) with ``python -m omnifuse serve
--threads 1`` (one uvicorn process, the code under ``--src``: this checkout by default) on
loopback, and sends requests one after another from one client (the service latency, as the
"sequential" rows of ``serve_load.py``), for a patient with every modality and for a test
patient without protein (absent), each plain and explained. The cases alternate in
``--rounds`` rounds of ``--requests`` requests, so a change in the machine's load hits every
case alike; the tables pool the rounds. ``--compare-src ../main/src`` starts a second server
with that code (one that predates ``explain``) and sends it the plain requests in the same
rounds: today's latency, measured under the same load.

/proc/loadavg is recorded before and after: the latency of a 2-core machine shared with
other work is not the latency of an idle one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from serve_load import BREAST, free_port, loadavg, payloads, train_run

ROOT = Path(__file__).resolve().parents[1]


def start_server(run: Path, port: int, src: Path, extra: list[str]) -> subprocess.Popen:
    """``python -m omnifuse serve`` with ``src`` first on the path (the code measured)."""
    env = {k: v for k, v in os.environ.items() if k != "OMNIFUSE_API_TOKEN"}
    env["PYTHONPATH"] = str(src)
    command = [sys.executable, "-m", "omnifuse", "serve", "--run", str(run), "--port", str(port), "--threads", "1"]
    proc = subprocess.Popen(
        [*command, *extra, "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    import httpx

    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start within 90 s")


def sequential(client: Any, url: str, body: bytes, n: int) -> tuple[list[float], dict[str, Any]]:
    """``n`` POSTs one after another: latencies (ms) and the last answer."""
    headers = {"content-type": "application/json"}
    latencies, answer = [], {}
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post(url, content=body, headers=headers)
        latencies.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:500]}")
        answer = r.json()
    return latencies, answer


def summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {
        "requests": len(a),
        "p50_ms": round(float(np.percentile(a, 50)), 2),
        "p90_ms": round(float(np.percentile(a, 90)), 2),
        "p99_ms": round(float(np.percentile(a, 99)), 2),
        "mean_ms": round(float(a.mean()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="run directory to serve (default: train one)")
    parser.add_argument("--data", type=Path, default=BREAST)
    parser.add_argument("--requests", type=int, default=300, help="requests per case and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the omnifuse source tree to serve")
    parser.add_argument("--compare-src", type=Path, default=None, help="also serve this code (plain requests)")
    parser.add_argument("--explain-steps", type=int, default=None, help="the server's --explain-steps")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("OMNIFUSE_CACHE", "off")
    import httpx

    from omnifuse.data.loaders import load_dataset

    with tempfile.TemporaryDirectory(prefix="explain_latency.") as tmp:
        if args.run is None:
            run, ds = train_run(args.data, "omnifuse", Path(tmp) / "run")
        else:
            run, ds = args.run, load_dataset(args.data)
        bodies = payloads(ds)
        extra = [] if args.explain_steps is None else ["--explain-steps", str(args.explain_steps)]
        sources = {"this": (args.src, extra)}
        if args.compare_src is not None:
            sources["compared"] = (args.compare_src, [])
        cases: dict[tuple[str, str], tuple[str, bytes]] = {}
        for label, body in bodies.items():
            if "compared" in sources:
                cases[(label, "plain (compared code)")] = ("compared", body)
            cases[(label, "plain")] = ("this", body)
            cases[(label, "explain")] = ("this", json.dumps({**json.loads(body), "explain": True}).encode())
        before = loadavg()
        urls, servers = {}, []
        latencies: dict[tuple[str, str], list[float]] = {c: [] for c in cases}
        answers: dict[tuple[str, str], dict[str, Any]] = {}
        try:
            for name, (src, flags) in sources.items():
                port = free_port()
                servers.append(start_server(run, port, src, flags))
                urls[name] = f"http://127.0.0.1:{port}/predict"
            with httpx.Client(timeout=30) as client:
                for server_name, body in cases.values():
                    sequential(client, urls[server_name], body, 20)  # warm-up
                for k in range(args.rounds):
                    for case, (server_name, body) in cases.items():
                        ms, answers[case] = sequential(client, urls[server_name], body, args.requests)
                        latencies[case] += ms
                        print(f"round {k + 1}: {case[0]} / {case[1]}: p50 {np.median(ms):.1f} ms", file=sys.stderr)
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=30)
        after = loadavg()
    rows = []
    for (label, mode), ms in latencies.items():
        explanation = answers[(label, mode)].get("explanation")
        rows.append(
            {
                "request": label,
                "mode": mode,
                **summary(ms),
                "explained_modalities": sorted(explanation["modalities"]) if explanation else None,
                "absent": answers[(label, mode)]["absent"],
            }
        )
    doc = {
        "run": str(run),
        "src": str(args.src),
        "compare_src": None if args.compare_src is None else str(args.compare_src),
        "explain_steps": args.explain_steps,
        "cpus": os.cpu_count(),
        "loadavg_before": before,
        "loadavg_after": after,
        "rows": rows,
        "target": {"explain_p50_ms": 100},
    }
    print(table(doc))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2))


def table(doc: dict[str, Any]) -> str:
    lines = [
        f"{doc['src']} (compared: {doc['compare_src']}) serving {doc['run']}, {doc['cpus']} CPUs; load average before {doc['loadavg_before']}, "
        f"after {doc['loadavg_after']}",
        "",
        "| request | mode | requests | p50 ms | p90 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in doc["rows"]:
        lines.append(
            f"| {r['request']} | {r['mode']} | {r['requests']} | {r['p50_ms']} "
            f"| {r['p90_ms']} | {r['p99_ms']} | {r['mean_ms']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
