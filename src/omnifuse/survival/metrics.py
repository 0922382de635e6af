"""Survival metrics on numpy arrays (scikit-survival does the estimation).

* :func:`harrell_c` — Harrell's concordance index of a risk score.
* :func:`uno_c` — Uno's IPCW concordance, truncated at ``tau``.
* :func:`time_auc` — cumulative/dynamic AUC at chosen horizons.
* :func:`integrated_brier` — integrated Brier score of predicted survival curves.
* :func:`breslow_survival` — Breslow's baseline hazard turns Cox risk scores into curves.

Metrics that weight by the inverse probability of censoring (Uno's C, time-dependent AUC,
Brier) estimate the censoring distribution on the training fold and are only defined at
times inside the test follow-up where that distribution is positive. :func:`default_horizons`
and :func:`brier_times` pick such times: quantiles of the training fold's event times, clipped
into ``[min test time, min(max test time, max training time))``. Every data problem (no
event, no comparable pair, a horizon out of range) is a one-line :class:`DataError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from omnifuse.errors import DataError

#: Horizons of the time-dependent AUC: these quantiles of the training event times.
HORIZON_QUANTILES = (0.25, 0.5, 0.75)
#: The integrated Brier score runs between these quantiles of the training event times.
BRIER_QUANTILES = (0.1, 0.9)


@dataclass(frozen=True)
class TimeAUC:
    """Cumulative/dynamic AUC at each horizon and its mean weighted by the survival estimate."""

    times: np.ndarray
    auc: np.ndarray
    mean: float


def harrell_c(time: np.ndarray, event: np.ndarray, risk: np.ndarray) -> float:
    """Harrell's C: the share of comparable pairs whose earlier event has the higher risk
    (ties in risk count one half). A pair is comparable when the earlier time is an event."""
    time, event = _outcome(time, event, "Harrell's C")
    risk = _scores(risk, len(time), "Harrell's C")
    # deferred: scikit-survival (seconds: it imports scikit-learn, pandas) is needed only by survival tasks
    from sksurv.exceptions import NoComparablePairException
    from sksurv.metrics import concordance_index_censored  # deferred: as sksurv.exceptions above

    try:
        return float(concordance_index_censored(event, time, risk)[0])
    except NoComparablePairException:
        raise DataError("Harrell's C: no comparable pair (no event precedes another sample's time)") from None


def uno_c(
    train_time: np.ndarray,
    train_event: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    tau: float | None = None,
) -> float:
    """Uno's C: concordance weighted by the training fold's censoring distribution, over the
    test samples with times below ``tau`` (default: the last :func:`default_horizons`)."""
    train = _surv(*_outcome(train_time, train_event, "Uno's C (training)", need_event=False))
    time, event = _outcome(time, event, "Uno's C")
    risk = _scores(risk, len(time), "Uno's C")
    if tau is None:
        tau = float(default_horizons(train["time"], train["event"], time)[-1])
    from sksurv.metrics import concordance_index_ipcw  # deferred: scikit-survival (see harrell_c)

    return float(_sksurv("Uno's C", concordance_index_ipcw, train, _surv(time, event), risk, tau=tau)[0])


def time_auc(
    train_time: np.ndarray,
    train_event: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    risk: np.ndarray,
    times: Sequence[float] | np.ndarray | None = None,
) -> TimeAUC:
    """Cumulative/dynamic AUC: at horizon ``t``, how well ``risk`` ranks the patients with an
    event by ``t`` above those still event-free after ``t`` (IPCW from the training fold).

    ``risk`` is ``(n,)`` (one score for all horizons, e.g. a Cox head) or ``(n, len(times))``
    (e.g. ``1 - S(t)`` of a discrete-time head). ``times`` default to :func:`default_horizons`.
    """
    train = _surv(*_outcome(train_time, train_event, "time-dependent AUC (training)", need_event=False))
    time, event = _outcome(time, event, "time-dependent AUC")
    at = default_horizons(train["time"], train["event"], time) if times is None else _times(times)
    risk = np.asarray(risk, dtype=np.float64)
    if risk.ndim == 2 and risk.shape != (len(time), len(at)):
        raise DataError(f"time-dependent AUC: risk {risk.shape} should be ({len(time)}, {len(at)})")
    if risk.ndim != 2:
        risk = _scores(risk, len(time), "time-dependent AUC")
    from sksurv.metrics import cumulative_dynamic_auc  # deferred: scikit-survival (see harrell_c)

    auc, mean = _sksurv("time-dependent AUC", cumulative_dynamic_auc, train, _surv(time, event), risk, at)
    return TimeAUC(at, np.asarray(auc, dtype=np.float64), float(mean))


def integrated_brier(
    train_time: np.ndarray,
    train_event: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    survival: np.ndarray,
    times: Sequence[float] | np.ndarray,
) -> float:
    """Integrated Brier score of survival probabilities ``survival`` ``(n, len(times))`` over
    ``times`` (at least two, inside the test follow-up; see :func:`brier_times`). Lower is better."""
    train = _surv(*_outcome(train_time, train_event, "integrated Brier score (training)", need_event=False))
    time, event = _outcome(time, event, "integrated Brier score")
    at = _times(times)
    if len(at) < 2:
        raise DataError("integrated Brier score: needs at least two times to integrate over")
    survival = np.asarray(survival, dtype=np.float64)
    if survival.shape != (len(time), len(at)):
        raise DataError(f"integrated Brier score: survival {survival.shape} should be ({len(time)}, {len(at)})")
    from sksurv.metrics import integrated_brier_score  # deferred: scikit-survival (see harrell_c)

    return float(_sksurv("integrated Brier score", integrated_brier_score, train, _surv(time, event), survival, at))


def default_horizons(
    train_time: np.ndarray,
    train_event: np.ndarray,
    test_time: np.ndarray,
    quantiles: Sequence[float] = HORIZON_QUANTILES,
) -> np.ndarray:
    """Evaluation horizons: ``quantiles`` of the training event times, clipped into
    ``[min test time, min(max test time, max training time))`` where IPCW is defined
    (duplicates merged, ascending)."""
    train_time, train_event = _outcome(train_time, train_event, "horizons (training)")
    test_time = np.asarray(test_time, dtype=np.float64).reshape(-1)
    if not len(test_time):
        raise DataError("horizons: no test samples")
    low, high = float(test_time.min()), min(float(test_time.max()), float(train_time.max()))
    if not high > low:
        raise DataError(
            f"horizons: the test follow-up [{low:g}, {float(test_time.max()):g}] leaves no time inside the "
            f"training follow-up (up to {float(train_time.max()):g})"
        )
    q = np.quantile(train_time[train_event], np.asarray(quantiles, dtype=np.float64))
    return np.unique(np.clip(q, low, np.nextafter(high, -np.inf)))


def brier_times(train_time: np.ndarray, train_event: np.ndarray, test_time: np.ndarray, n: int = 50) -> np.ndarray:
    """``n`` evenly spaced times for the integrated Brier score, between the
    :data:`BRIER_QUANTILES` of the training event times (clipped as in :func:`default_horizons`)."""
    ends = default_horizons(train_time, train_event, test_time, BRIER_QUANTILES)
    if len(ends) < 2:
        raise DataError("Brier times: the training event times leave no interval inside the test follow-up")
    return np.linspace(ends[0], ends[-1], max(2, int(n)))


def breslow_survival(
    train_risk: np.ndarray,
    train_time: np.ndarray,
    train_event: np.ndarray,
    risk: np.ndarray,
    times: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Survival probabilities ``(n, len(times))`` of a Cox model: ``S(t | x) = exp(-H0(t) e^risk)``
    with Breslow's baseline cumulative hazard ``H0`` estimated from the training fold's log-risks.

    Risks are centred on the training mean first (``H0`` and ``e^risk`` scale inversely, so
    the curves are unchanged) to keep ``exp`` in range.
    """
    train_time, train_event = _outcome(train_time, train_event, "Breslow estimator")
    train_risk = _scores(train_risk, len(train_time), "Breslow estimator (training risk)")
    risk = np.asarray(risk, dtype=np.float64).reshape(-1)
    if not np.isfinite(risk).all():
        raise DataError("Breslow estimator: risk scores must be finite")
    from sksurv.linear_model.coxph import BreslowEstimator  # deferred: scikit-survival (see harrell_c)

    shift = float(train_risk.mean())
    baseline = BreslowEstimator().fit(train_risk - shift, train_event, train_time).cum_baseline_hazard_
    at = _times(times)
    step = np.searchsorted(baseline.x, at, side="right") - 1
    h0 = np.where(step >= 0, baseline.y[np.maximum(step, 0)], 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # a huge risk: e^risk = inf, S = 0 where H0 > 0
        hazard = np.exp(risk - shift)[:, None] * h0[None, :]
        return np.where(h0[None, :] > 0, np.exp(-hazard), 1.0)


# ---------------------------------------------------------------------- helpers
def _outcome(time: np.ndarray, event: np.ndarray, what: str, need_event: bool = True) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(time, dtype=np.float64).reshape(-1)
    event = np.asarray(event).reshape(-1)
    if time.shape != event.shape:
        raise DataError(f"{what}: {len(time)} times for {len(event)} events")
    if not np.isfinite(time).all() or (time < 0).any():
        raise DataError(f"{what}: times must be finite and >= 0")
    if event.dtype != bool:
        if not np.isin(event, (0, 1)).all():
            raise DataError(f"{what}: events must be 0 (censored) or 1 (observed)")
        event = event.astype(bool)
    if need_event and not event.any():
        raise DataError(f"{what}: needs at least one observed event (all {len(time)} samples are censored)")
    return time, event


def _scores(risk: np.ndarray, n: int, what: str) -> np.ndarray:
    risk = np.asarray(risk, dtype=np.float64).reshape(-1)
    if len(risk) != n:
        raise DataError(f"{what}: {len(risk)} risk scores for {n} samples")
    if not np.isfinite(risk).all():
        raise DataError(f"{what}: risk scores must be finite")
    return risk


def _times(times: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(times, dtype=np.float64).reshape(-1)


def _surv(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    y = np.empty(len(time), dtype=[("event", "?"), ("time", "<f8")])
    y["event"], y["time"] = event, time
    return y


def _sksurv(what: str, metric, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Call a scikit-survival metric; its ValueErrors (times outside the follow-up, a censoring
    distribution at zero) become one DataError."""
    try:
        return metric(*args, **kwargs)
    except ValueError as exc:
        raise DataError(f"{what}: {str(exc).splitlines()[0]}") from None
