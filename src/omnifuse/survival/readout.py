"""From a survival model's outputs to what users read: a risk score and a survival curve.

A neural survival model ends in one of two heads (see :mod:`omnifuse.tasks`): a one-unit Cox
head (its output is the log-risk) or a logistic-hazard head (its outputs, after
:func:`~omnifuse.survival.losses.survival_curve`, are the survival probabilities at the ends
of the training fold's time intervals). A scikit-survival baseline gives a risk score and its
own survival function. :class:`SurvivalReadout` holds what turns each of these into

* a **risk** per patient (higher: the event is expected sooner), for C-indices and ranking;
* a **survival curve** at any times, for Brier scores, calibration and answers.

It is fitted once, on the training fold's outputs, and saved with the model (plain numbers:
no training patient's features, only the event times the baseline hazard steps at).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from omnifuse.errors import ConfigError, DataError
from omnifuse.survival.losses import survival_at
from omnifuse.survival.metrics import HORIZON_QUANTILES

#: Survival heads: a Cox log-risk, logistic hazards over time bins, or an estimator's own curve.
Head = Literal["cox", "logistic_hazard", "estimator"]
HEADS: tuple[str, ...] = ("cox", "logistic_hazard", "estimator")


@dataclass
class SurvivalReadout:
    """Risk scores and survival curves from a survival model's outputs.

    Attributes:
        head: "cox" (outputs ``(n, 1)`` log-risks), "logistic_hazard" (outputs ``(n, J)``
            survival probabilities at ``edges[1:]``) or "estimator" (a scikit-survival
            model: risks ``(n, 1)``; curves come from the estimator itself).
        edges: ``[0, c_1, ..., c_J]`` interval edges of a logistic-hazard head.
        baseline_times: times at which the Breslow baseline cumulative hazard steps (Cox).
        baseline_hazard: the baseline cumulative hazard at those times (Cox).
        shift: the training mean log-risk the baseline is relative to (Cox).
        horizons: the times answers report survival at (quartiles of the training event
            times).
        time_unit: unit of every time here.
    """

    head: str
    edges: list[float] = field(default_factory=list)
    baseline_times: list[float] = field(default_factory=list)
    baseline_hazard: list[float] = field(default_factory=list)
    shift: float = 0.0
    horizons: list[float] = field(default_factory=list)
    time_unit: str | None = None

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ConfigError(f"unknown survival head '{self.head}' (valid: {', '.join(HEADS)})")

    @classmethod
    def fit(
        cls,
        head: str,
        outputs: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        edges: Sequence[float] | np.ndarray | None = None,
        time_unit: str | None = None,
    ) -> "SurvivalReadout":
        """The readout of a model whose training-fold outputs are ``outputs``.

        ``time``/``event`` are the training fold's; a Cox head gets Breslow's baseline
        cumulative hazard from them (risks centred on their training mean).
        """
        time = np.asarray(time, dtype=np.float64).reshape(-1)
        event = np.asarray(event).reshape(-1).astype(bool)
        if not event.any():
            raise DataError("a survival model needs at least one observed event in its training samples")
        horizons = np.unique(np.quantile(time[event], HORIZON_QUANTILES)).tolist()
        readout = cls(head, horizons=[float(h) for h in horizons], time_unit=time_unit)
        if head == "logistic_hazard":
            if edges is None:
                raise ConfigError("a logistic-hazard readout needs the time-bin edges")
            readout.edges = [float(e) for e in np.asarray(edges).reshape(-1)]
        elif head == "cox":
            risk = _column(outputs, "cox")
            from sksurv.linear_model.coxph import BreslowEstimator  # deferred: scikit-survival loads slowly

            readout.shift = float(risk.mean())
            baseline = BreslowEstimator().fit(risk - readout.shift, event, time).cum_baseline_hazard_
            readout.baseline_times = [float(t) for t in baseline.x]
            readout.baseline_hazard = [float(h) for h in baseline.y]
        return readout

    def risk(self, outputs: np.ndarray) -> np.ndarray:
        """``(n,)`` risk scores: the log-risk (Cox, estimator) or the expected share of the
        intervals a patient does not survive (logistic hazard)."""
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.head == "logistic_hazard":
            return (1.0 - outputs).mean(axis=1)
        return _column(outputs, self.head)

    def survival(self, outputs: np.ndarray, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """``(n, len(times))`` survival probabilities at ``times`` (not for "estimator": ask
        the estimator)."""
        at = np.asarray(times, dtype=np.float64).reshape(-1)
        outputs = np.asarray(outputs, dtype=np.float64)
        if self.head == "logistic_hazard":
            return survival_at(outputs, np.asarray(self.edges), at)
        if self.head == "estimator":
            raise ConfigError("an estimator's survival curves come from the estimator, not from its readout")
        steps = np.searchsorted(np.asarray(self.baseline_times), at, side="right") - 1
        h0 = (
            np.where(steps >= 0, np.asarray(self.baseline_hazard)[np.maximum(steps, 0)], 0.0)
            if self.baseline_times
            else np.zeros(len(at))
        )
        risk = _column(outputs, "cox") - self.shift
        with np.errstate(over="ignore", invalid="ignore"):  # e^risk = inf: S = 0 where H0 > 0
            hazard = np.exp(risk)[:, None] * h0[None, :]
            return np.where(h0[None, :] > 0, np.exp(-hazard), 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields (bundles store them)."""
        return {
            "head": self.head,
            "edges": list(self.edges),
            "baseline_times": list(self.baseline_times),
            "baseline_hazard": list(self.baseline_hazard),
            "shift": self.shift,
            "horizons": list(self.horizons),
            "time_unit": self.time_unit,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SurvivalReadout":
        """The readout :meth:`to_dict` wrote."""
        known = {"head", "edges", "baseline_times", "baseline_hazard", "shift", "horizons", "time_unit"}
        unknown = sorted(set(data) - known)
        if unknown or "head" not in data:
            raise DataError(f"survival readout: unknown fields {unknown} or no head")
        return cls(**data)


def _column(outputs: np.ndarray, head: str) -> np.ndarray:
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[1] == 1:
        return outputs[:, 0]
    if outputs.ndim == 1:
        return outputs
    raise DataError(f"a {head} survival model gives one risk per patient, got outputs of shape {outputs.shape}")
