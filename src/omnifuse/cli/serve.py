"""``omnifuse serve``: the HTTP API around a trained run (uvicorn)."""

from __future__ import annotations

import copy
import ipaddress
import warnings
from pathlib import Path
from typing import Any

import typer

from omnifuse.cli.common import app, console


@app.command("serve")
def serve(
    run: Path = typer.Option(..., "--run", help="Run directory written by `omnifuse train` (uses RUN_DIR/bundle)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="Port (0: any free port)."),
    max_body_bytes: int = typer.Option(2_000_000, "--max-body-bytes", min=1, help="Larger request bodies get 413."),
    max_batch: int = typer.Option(256, "--max-batch", min=1, help="Most patients per /predict/batch request."),
    threads: int = typer.Option(
        1, "--threads", min=1, help="Torch threads of the model (1: best under concurrent load)."
    ),
    log_level: str = typer.Option("info", "--log-level", help="Log level: debug, info, warning, error."),
    explain_steps: int = typer.Option(
        64, "--explain-steps", min=2, help='Integration points of "explain": true answers (neural models).'
    ),
) -> None:
    """Serve a trained run: POST /predict, POST /predict/batch, GET /model, GET /health, docs at /docs.

    Set OMNIFUSE_API_TOKEN to require `Authorization: Bearer <token>` on every endpoint but /health.
    """
    import torch  # deferred: keeps `omnifuse --help` fast (torch takes seconds to import)
    import uvicorn  # deferred: keeps `omnifuse --help` fast (uvicorn, asyncio: ~0.3 s)

    from omnifuse.serving.app import ServeSettings, create_app  # deferred: keeps `omnifuse --help` fast (FastAPI)
    from omnifuse.serving.bundle import load_bundle  # deferred: keeps `omnifuse --help` fast (Lightning)

    settings = ServeSettings.from_env(max_body_bytes=max_body_bytes, max_batch=max_batch, explain_steps=explain_steps)
    torch.set_num_threads(threads)
    bundle = load_bundle(run / "bundle")
    api = create_app(bundle, settings)
    if not settings.api_token and not _is_loopback(host):
        warnings.warn(
            f"listening on {host} without OMNIFUSE_API_TOKEN: anyone who reaches this port can query "
            "the model (set a token, and put TLS in front)",
            stacklevel=1,
        )
    extras = []
    if bundle.calibration is not None:
        extras.append(f"temperature {bundle.calibration.temperature:.3g}")
    if bundle.conformal is not None:
        extras.append(
            f"conformal sets at {bundle.conformal.coverage:g}" + (" by class" if bundle.conformal.by_class else "")
        )
    console.print(
        f"serving {bundle.name} ({', '.join(bundle.schema.modalities)}) on http://{host}:{port} "
        f"(docs: /docs; auth: {'bearer token' if settings.api_token else 'none'}"
        + "".join(f"; {e}" for e in extras)
        + ")",
        soft_wrap=True,
    )
    uvicorn.run(
        api,
        host=host,
        port=port,
        access_log=False,
        log_config=_log_config(log_level.upper()),
        log_level=log_level.lower(),
        server_header=False,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging configuration plus the omnifuse.serving access lines (stderr)."""
    from uvicorn.config import LOGGING_CONFIG  # deferred: keeps `omnifuse --help` fast (uvicorn, asyncio: ~0.3 s)

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["omnifuse.serving"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config
