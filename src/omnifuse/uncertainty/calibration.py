"""Temperature scaling: one scalar that makes a model's confidence match its accuracy.

Guo, Pleiss, Sun & Weinberger, "On Calibration of Modern Neural Networks", ICML 2017:
logits ``z`` become ``z / T`` with the single temperature ``T > 0`` that minimises the
negative log-likelihood on held-out (validation) samples. Dividing every logit by the
same positive number keeps the argmax, and for binary tasks it keeps the ranking (AUROC
and AUPRC are unchanged); only the confidence moves. ``T > 1`` softens an over-confident
model, ``T < 1`` sharpens an under-confident one.

Tasks: binary and multiclass use the softmax of the ``(n, C)`` logits (a 1-D binary logit
``log(p / (1 - p))`` is accepted too); multilabel uses one temperature shared by the
sigmoids of all labels. The scikit-learn baselines give probabilities, not logits:
:func:`logits_from_probs` turns them into logits with the same probabilities.

``T`` is found by bounded L-BFGS (scipy) on ``log T`` in ``[log 0.01, log 100]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from omnifuse.errors import ConfigError
from omnifuse.tasks import CLASSIFICATION_TASKS

TASKS = CLASSIFICATION_TASKS
_LOG_T_BOUNDS = (float(np.log(0.01)), float(np.log(100.0)))
_EPS = 1e-12


@dataclass(frozen=True)
class TemperatureScaler:
    """A fitted temperature. ``apply(logits)`` gives calibrated probabilities."""

    temperature: float = 1.0
    task: str = "multiclass"
    nll_before: float = float("nan")
    nll_after: float = float("nan")
    n_samples: int = 0

    @classmethod
    def fit(cls, logits: np.ndarray, y: np.ndarray, task: str) -> "TemperatureScaler":
        """The temperature minimising the NLL of validation ``logits`` against ``y``.

        Raises:
            ConfigError: an unknown task, no samples, or non-finite logits (one line).
        """
        z, t = _validate(logits, y, task)
        if not len(t):
            raise ConfigError("temperature scaling needs at least one validation sample")

        def objective(log_t: np.ndarray) -> float:
            return _nll(z / np.exp(log_t[0]), t, task)

        res = optimize.minimize(objective, x0=np.zeros(1), method="L-BFGS-B", bounds=[_LOG_T_BOUNDS])
        temperature = float(np.exp(res.x[0]))
        return cls(temperature, task, _nll(z, t, task), _nll(z / temperature, t, task), int(len(t)))

    def scale(self, logits: np.ndarray) -> np.ndarray:
        """The logits divided by the temperature (same shape)."""
        return np.asarray(logits, dtype=np.float64) / self.temperature

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: ``(n, C)`` (binary: 2 columns, also from a 1-D logit)."""
        z = _as_logits(logits, self.task)
        return probabilities(z / self.temperature, self.task)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (a bundle stores it)."""

        def finite(v: float) -> float | None:
            return float(v) if np.isfinite(v) else None

        return {
            "method": "temperature",
            "temperature": self.temperature,
            "task": self.task,
            "nll_before": finite(self.nll_before),
            "nll_after": finite(self.nll_after),
            "n_samples": self.n_samples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TemperatureScaler":
        if data.get("method", "temperature") != "temperature":
            raise ConfigError(f"calibration: unknown method '{data.get('method')}' (valid: temperature)")
        temperature = float(data["temperature"])
        if not (np.isfinite(temperature) and temperature > 0):
            raise ConfigError(f"calibration: temperature must be a positive number, got {data['temperature']!r}")
        task = str(data.get("task", "multiclass"))
        if task not in TASKS:
            raise ConfigError(f"calibration: unknown task '{task}' (valid: {', '.join(TASKS)})")

        def number(key: str) -> float:
            v = data.get(key)
            return float("nan") if v is None else float(v)

        return cls(temperature, task, number("nll_before"), number("nll_after"), int(data.get("n_samples", 0)))


def probabilities(logits: np.ndarray, task: str) -> np.ndarray:
    """Softmax (binary, multiclass) or sigmoid (multilabel) of ``(n, C)`` logits."""
    z = np.asarray(logits, dtype=np.float64)
    return special.expit(z) if task == "multilabel" else special.softmax(z, axis=1)


def logits_from_probs(probs: np.ndarray, task: str) -> np.ndarray:
    """Logits whose probabilities are ``probs`` (``log p`` for softmax tasks, ``logit p``
    for multilabel), probabilities clipped to ``[1e-12, 1 - 1e-12]``."""
    p = np.clip(np.asarray(probs, dtype=np.float64), _EPS, 1 - _EPS)
    if task == "binary" and p.ndim == 1:
        p = np.stack([1 - p, p], axis=1)
    return special.logit(p) if task == "multilabel" else np.log(p)


def nll(logits: np.ndarray, y: np.ndarray, task: str) -> float:
    """Mean negative log-likelihood of ``y`` under the probabilities of ``logits``."""
    z, t = _validate(logits, y, task)
    return _nll(z, t, task)


def _nll(z: np.ndarray, t: np.ndarray, task: str) -> float:
    if not len(t):
        return float("nan")
    if task == "multilabel":
        # -[y log s(z) + (1 - y) log(1 - s(z))] = softplus(z) - y z, stable for any z
        return float(np.mean(np.logaddexp(0.0, z) - t * z))
    return float(-np.mean(special.log_softmax(z, axis=1)[np.arange(len(t)), t]))


def _as_logits(logits: np.ndarray, task: str) -> np.ndarray:
    if task not in TASKS:
        raise ConfigError(f"unknown task '{task}' (valid: {', '.join(TASKS)})")
    z = np.asarray(logits, dtype=np.float64)
    if task == "binary" and (z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1)):
        z = z.reshape(-1)
        z = np.stack([np.zeros_like(z), z], axis=1)  # softmax([0, l]) = [1 - s(l), s(l)]
    if z.ndim != 2:
        raise ValueError(f"logits must be (n_samples, n_classes), got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ConfigError("temperature scaling: logits contain NaN or infinite values")
    return z


def _validate(logits: np.ndarray, y: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    z = _as_logits(logits, task)
    t = np.asarray(y)
    if task == "multilabel":
        if t.shape != z.shape:
            raise ValueError(f"multilabel y must be {z.shape} indicators, got shape {t.shape}")
        return z, t.astype(np.float64)
    t = t.reshape(-1).astype(np.int64)
    if t.shape != (len(z),):
        raise ValueError(f"y must be ({len(z)},) class indices, got shape {np.shape(y)}")
    if len(t) and (t.min() < 0 or t.max() >= z.shape[1]):
        raise ValueError(f"class indices must be in [0, {z.shape[1]})")
    return z, t
