"""The HTTP API: ``create_app(bundle, settings)`` builds a FastAPI app around a loaded bundle.

Endpoints: ``POST /predict`` (one patient; ``"explain": true`` adds feature attributions,
see :mod:`omnifuse.serving.explain`), ``POST /predict/batch``, ``GET /health``,
``GET /model``, OpenAPI docs at ``/docs`` (schema at ``/openapi.json``). A survival model
answers with a risk and a survival curve (:class:`~omnifuse.serving.api_models.SurvivalPrediction`)
instead of class probabilities.

* Invalid requests are 422 with ``{"detail": [{"loc": [...], "msg", "type"}]}`` naming each
  field at fault (unknown modality or feature, wrong length, a value that is not a finite
  number, an empty request...), the same shape pydantic's own errors have.
* Bodies over ``settings.max_body_bytes`` are 413; with a token (``OMNIFUSE_API_TOKEN``)
  every endpoint but ``/health`` needs ``Authorization: Bearer <token>`` (401).
* Each request's work (checking the values, building the batch, the forward pass) runs in
  one worker thread, first come first served, so the event loop keeps accepting and
  refusing requests meanwhile; torch's own threads are set by ``omnifuse serve --threads``
  (1 by default). Logs never carry patient data.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import omnifuse
from omnifuse.errors import ConfigError
from omnifuse.serving.answers import Predictor, weights_description
from omnifuse.serving.set_answers import calibration_info, conformal_info
from omnifuse.serving.api_models import (
    BatchRequest,
    ErrorResponse,
    ExplainedPrediction,
    Health,
    ModelInfo,
    PredictRequest,
    SurvivalModelInfo,
    response_models,
)
from omnifuse.serving.cohort import parsed_dataset, patients_dataset
from omnifuse.serving.explain import SERVE_STEPS, ExplainingPredictor
from omnifuse.serving.middleware import AccessLog, BearerAuth, BodyLimit
from omnifuse.serving.patient import ACCEPTED_KINDS, TIME_KEY, FieldProblem, InputError

TOKEN_ENV = "OMNIFUSE_API_TOKEN"
logger = logging.getLogger("omnifuse.serving")


@dataclass(frozen=True)
class ServeSettings:
    """Limits and auth of the server.

    Attributes:
        max_body_bytes: larger request bodies are refused (413).
        max_batch: most patients in one ``/predict/batch`` request (more: 422).
        api_token: bearer token required by every endpoint but ``/health`` (None: no auth).
        explain_steps: integration points of ``"explain": true`` answers of neural models.
    """

    max_body_bytes: int = 2_000_000
    max_batch: int = 256
    api_token: str | None = field(default=None, repr=False)
    explain_steps: int = SERVE_STEPS

    def __post_init__(self) -> None:
        if self.max_body_bytes < 1 or self.max_batch < 1:
            raise ConfigError("max_body_bytes and max_batch must be at least 1")
        if self.explain_steps < 2:
            raise ConfigError("explain_steps must be at least 2")

    @classmethod
    def from_env(cls, **values: Any) -> "ServeSettings":
        """Settings with the token from ``$OMNIFUSE_API_TOKEN`` (if set; it may not be empty)."""
        token = os.environ.get(TOKEN_ENV)
        if token is not None and not token.strip():
            raise ConfigError(f"{TOKEN_ENV} is set but empty: set a token or unset the variable")
        return cls(api_token=token, **values)


def check_servable(bundle: Any) -> None:
    """Refuse models that cannot answer one patient at a time (sequence-to-sequence models)."""
    if getattr(bundle.model, "sequence_length", None):
        raise ConfigError(
            f"model '{bundle.name}' predicts windows of consecutive epochs of a recording, "
            "not single patients: use `omnifuse predict --data` on the recordings"
        )
    if not any(s.kind in ACCEPTED_KINDS for s in bundle.schema.specs.values()):
        raise ConfigError(
            f"model '{bundle.name}' has no modality a request can carry "
            f"(kinds {', '.join(ACCEPTED_KINDS)}): use `omnifuse predict --data`"
        )


def model_info(bundle: Any, predictor: Predictor) -> dict[str, Any]:
    """``GET /model``; runs one warm-up prediction (a patient with no modality)."""
    warm = predictor.details(parsed_dataset([{}], bundle.schema))
    modalities = []
    for name, spec in bundle.schema.specs.items():
        accepted = spec.kind in ACCEPTED_KINDS
        if spec.kind == "timeseries":
            how = f'[{{"{TIME_KEY}": t ({spec.time_unit or "training unit"}), "<channel>": value, ...}}, ...]'
        elif accepted:
            how = f"{{feature: value}} for any subset, or [{spec.n_features} values in feature order]"
        else:
            how = "not accepted in requests (absent)"
        modalities.append(
            {
                "name": name,
                "kind": spec.kind,
                "features": list(spec.feature_names),
                "accepted": accepted,
                "input": how,
                "time_unit": spec.time_unit,
            }
        )
    return {
        "name": bundle.name,
        "task": bundle.schema.task,
        "classes": list(bundle.schema.class_names),
        "modalities": modalities,
        "modality_weights": weights_description(bundle.name, warm.weights is not None),
        "imputes_absent": predictor.imputes_absent,
        "metrics": {
            k: (float(v) if isinstance(v, (int, float)) and np.isfinite(v) else None)
            for k, v in bundle.metrics.items()
            if v is None or isinstance(v, (int, float))
        },
        "omnifuse_version": omnifuse.__version__,
        "trained_with": str(bundle.info.get("omnifuse_version", "")),
        "created": str(bundle.info.get("created", "")),
        "calibration": calibration_info(bundle),
        "conformal": conformal_info(bundle),
        **survival_model_info(bundle),
    }


def survival_model_info(bundle: Any) -> dict[str, Any]:
    """``GET /model``'s ``survival`` part: head, horizons and time unit (nothing for other tasks)."""
    readout = getattr(bundle, "readout", None)
    if bundle.schema.task != "survival" or readout is None:
        return {}
    return {"survival": {"head": readout.head, "horizons": list(readout.horizons), "time_unit": readout.time_unit}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Unreadable body (not UTF-8 text) or Content-Length."},
    401: {"model": ErrorResponse, "description": "Missing or invalid bearer token (when the server has one)."},
    413: {"model": ErrorResponse, "description": "Request body too large."},
    422: {"model": ErrorResponse, "description": "Invalid request; every field at fault is named."},
}


def create_app(bundle: Any, settings: ServeSettings | None = None) -> FastAPI:
    """The API serving ``bundle`` (a loaded :class:`omnifuse.serving.Bundle`).

    ``settings`` default to :meth:`ServeSettings.from_env`.
    """
    settings = settings if settings is not None else ServeSettings.from_env()
    check_servable(bundle)
    predictor = ExplainingPredictor(bundle, n_steps=settings.explain_steps)
    info_model = SurvivalModelInfo if bundle.schema.task == "survival" else ModelInfo
    info = info_model.model_validate(
        {**model_info(bundle, predictor), "attributions": predictor.describe_attributions()}
    )
    prediction_model, batch_model = response_models(bundle.schema.task)
    if bundle.schema.task != "survival":
        prediction_model = ExplainedPrediction
    # One thread does every request's CPU work (checking values, building the batch, the
    # forward pass), first come first served: threads contending for the GIL and a lock
    # made tail latency several times worse under concurrent load.
    worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="omnifuse-model")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title=f"omnifuse: {bundle.name}",
        version=omnifuse.__version__,
        lifespan=lifespan,
        description="Answers for a patient with whatever modalities exist: class probabilities, "
        "per-modality weights, and which modalities were absent and imputed; models trained with "
        "conformal calibration also answer a prediction set per patient (GET /model: its coverage and "
        "thresholds per availability pattern, and the temperature of calibrated probabilities).",
    )

    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> dict[str, Any]:
        """Liveness: the model is loaded (never needs a token)."""
        return {"status": "ok", "model": bundle.name}

    @app.get("/model", response_model=info_model, responses=_ERRORS, tags=["service"])
    def model() -> ModelInfo:
        """The model: modalities (kind, expected features), classes, task, training metrics."""
        return info

    @app.post("/predict", response_model=prediction_model, responses=_ERRORS, tags=["predict"])
    async def predict(body: PredictRequest, request: Request) -> dict[str, Any]:
        """One patient with any non-empty subset of the model's modalities (``"explain": true``:
        with feature attributions)."""
        if body.explain and predictor.explain_problem is not None:
            raise InputError([FieldProblem(("body", "explain"), predictor.explain_problem, "explain_unsupported")])

        def answer() -> dict[str, Any]:
            ds = patients_dataset([body.modalities], bundle.schema, locs=[("body", "modalities")])
            if body.explain:
                return predictor.explained_answers(ds, ids=[body.id], top_k=body.top_k)[0]
            return predictor.answers(ds, ids=[body.id])[0]

        return await _guarded(request, worker, answer)

    @app.post("/predict/batch", response_model=batch_model, responses=_ERRORS, tags=["predict"])
    async def predict_batch(body: BatchRequest, request: Request) -> dict[str, Any]:
        """Several patients (at most the server's max batch), answered in order."""
        if len(body.patients) > settings.max_batch:
            raise InputError(
                [
                    FieldProblem(
                        ("body", "patients"),
                        f"at most {settings.max_batch} patients per request, got {len(body.patients)}",
                        "too_long",
                    )
                ]
            )

        def answer() -> list[dict[str, Any]]:
            ds = patients_dataset(
                [p.modalities for p in body.patients],
                bundle.schema,
                locs=[("body", "patients", i, "modalities") for i in range(len(body.patients))],
            )
            return predictor.answers(ds, ids=[p.id for p in body.patients])

        return {"predictions": await _guarded(request, worker, answer)}

    _add_error_handlers(app)
    routes = {getattr(r, "path", "") for r in app.routes}
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.api_token:
        app.add_middleware(BearerAuth, token=settings.api_token)
    app.add_middleware(AccessLog, routes=routes)
    return app


async def _guarded(request: Request, worker: ThreadPoolExecutor, run: Callable[[], Any]) -> Any:
    """``run()`` in the model's worker thread; an unexpected failure is logged by type only
    (messages and tracebacks may quote patient values) and answered with a plain 500."""
    try:
        return await asyncio.get_running_loop().run_in_executor(worker, run)
    except InputError:
        raise
    except Exception as exc:
        logger.error(
            "request_id=%s prediction failed: %s",
            request.scope.get("state", {}).get("request_id", "?"),
            type(exc).__name__,
        )
        raise HTTPException(500, "internal error while predicting (logged with the request id)") from None


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic's errors without the "input" echo (it may be large, and it is patient data)
        items = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": items}, status_code=422)

    @app.exception_handler(InputError)
    async def invalid_patient(request: Request, exc: InputError) -> JSONResponse:
        items = [{"loc": list(p.loc), "msg": p.msg, "type": p.type} for p in exc.problems]
        return JSONResponse({"detail": items}, status_code=422)
