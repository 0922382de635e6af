"""Serving: model bundles, answers for patients with any subset of modalities, the HTTP API.

Public API::

    from omnifuse.serving import Bundle, save_bundle, load_bundle       # bundles (no pickle)
    from omnifuse.serving import Predictor, patients_dataset, InputError  # answers for patients
    from omnifuse.serving import create_app, ServeSettings              # the FastAPI app

    bundle = load_bundle("run/bundle")
    ds = patients_dataset([{"mrna": {...}, "mirna": [...]}], bundle.schema)
    Predictor(bundle).answers(ds)   # probabilities, predicted class, weights, absent, imputed

``create_app`` and ``ServeSettings`` are imported on first use (FastAPI is only needed to serve).
"""

from typing import Any

from omnifuse.serving.answers import Predictor
from omnifuse.serving.bundle import Bundle, load_bundle, save_bundle
from omnifuse.serving.cohort import patients_dataset
from omnifuse.serving.patient import InputError, parse_patient

__all__ = [
    "Bundle",
    "InputError",
    "Predictor",
    "ServeSettings",
    "create_app",
    "load_bundle",
    "parse_patient",
    "patients_dataset",
    "save_bundle",
]


def __getattr__(name: str) -> Any:
    if name in ("create_app", "ServeSettings"):
        from omnifuse.serving import app  # deferred: FastAPI (~1 s) is needed only to serve; loaded on first access

        return getattr(app, name)
    raise AttributeError(f"module 'omnifuse.serving' has no attribute {name!r}")
