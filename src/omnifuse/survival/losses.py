"""Training losses of survival heads: the Cox partial likelihood and the discrete-time
logistic hazard.

* :func:`cox_loss` — a head giving one log-risk per patient. Negative Cox partial
  log-likelihood with Breslow's handling of tied times (torchsurv), averaged over the events
  of the batch; 0 (still attached to the graph) for a batch without an event.
* :func:`logistic_hazard_loss` — a head giving one hazard logit per time interval, the
  intervals cut by :func:`time_bins` at quantiles of the training fold's event times.
  :func:`survival_curve` turns the logits into survival probabilities at the interval ends
  and :func:`survival_at` reads that step curve at any times.
"""

from __future__ import annotations

import warnings
from typing import Any, overload

import numpy as np
import torch
import torch.nn.functional as F

from omnifuse.errors import ConfigError, DataError

TIES = ("breslow", "efron")


def cox_loss(log_risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor, ties: str = "breslow") -> torch.Tensor:
    """Negative Cox partial log-likelihood of a batch, divided by its number of events.

    Args:
        log_risk: ``(B,)`` or ``(B, 1)`` log relative hazards (the head's output).
        time: ``(B,)`` event or censoring times.
        event: ``(B,)`` True/1 where the event was observed.
        ties: "breslow" (default) or "efron" for tied event times.

    The partial likelihood is invariant to adding a constant to every log-risk, so the batch
    maximum is subtracted first: torchsurv exponentiates the log-risks (in float32) for tied
    times, and large logits would overflow. (A risk set whose members all lie more than ~100
    below the batch maximum would still underflow.) Dividing by the number of events (rather
    than torchsurv's "mean", which averages over distinct event times once ties occur) keeps
    batches with and without ties on one scale. The result has the dtype of ``log_risk``.
    """
    if ties not in TIES:
        raise ConfigError(f"unknown ties method '{ties}' (valid: {', '.join(TIES)})")
    scores = log_risk.reshape(-1)
    time = time.reshape(-1)
    event = event.reshape(-1).bool()
    if not (scores.shape == time.shape == event.shape):
        raise ValueError(
            f"cox_loss: log_risk {tuple(log_risk.shape)}, time {tuple(time.shape)} and "
            f"event {tuple(event.shape)} must hold one value per sample"
        )
    n_events = int(event.sum())
    if n_events == 0 or scores.numel() < 2:  # nothing to rank: no information, no gradient
        return scores.sum() * 0.0
    shifted = scores - scores.detach().max()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Ties in `time` detected", category=UserWarning)
        nll = _partial_likelihood()(shifted, event, time, ties_method=ties, reduction="sum")
    return (nll / n_events).to(scores.dtype)


def cox_sample_loss(log_risk: torch.Tensor, time: torch.Tensor, event: torch.Tensor) -> torch.Tensor:
    """Each sample's term of the Breslow Cox loss, ``(B,)``: ``-(r_i - log sum_{t_j >= t_i} e^{r_j})``
    for an event, 0 for a censored sample, scaled by ``B / n_events`` so that their mean is
    :func:`cox_loss` (the risk set is the batch). All zeros (attached) without an event."""
    scores = log_risk.reshape(-1)
    time = time.reshape(-1)
    event = event.reshape(-1).bool()
    n_events = int(event.sum())
    if n_events == 0 or scores.numel() < 2:
        return scores * 0.0
    at_risk = time[None, :] >= time[:, None]  # row i: the samples still at risk at t_i
    masked = scores[None, :].expand(len(scores), -1).masked_fill(~at_risk, float("-inf"))
    terms = torch.logsumexp(masked, dim=1) - scores
    return torch.where(event, terms, terms * 0.0) * (len(scores) / n_events)


def _partial_likelihood() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torchsurv uses torch.jit.script at import
        # deferred: torchsurv (seconds: it imports Lightning, matplotlib) is needed only by Cox heads
        from torchsurv.loss.cox import neg_partial_log_likelihood
    return neg_partial_log_likelihood


# ---------------------------------------------------------------------- discrete time
def time_bins(times: np.ndarray, events: np.ndarray, n_bins: int) -> np.ndarray:
    """Edges ``[0, c_1, ..., c_J]`` of the discrete-time intervals, from training data.

    The cut points are the ``j / n_bins`` quantiles of the observed event times (``c_J`` is the
    last event time), so each interval holds about as many events. Interval ``j`` is
    ``(edges[j], edges[j + 1]]`` (the first also holds time 0). Tied quantiles merge, so fewer
    than ``n_bins`` intervals come back when event times repeat. Compute the edges on the
    training fold only.
    """
    if int(n_bins) < 1:
        raise ConfigError(f"n_bins must be >= 1, got {n_bins}")
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    events = np.asarray(events).reshape(-1).astype(bool)
    if times.shape != events.shape:
        raise ValueError(f"time_bins: {len(times)} times for {len(events)} events")
    observed = times[events]
    if not len(observed):
        raise DataError("time bins need at least one observed event (all samples are censored)")
    cuts = np.quantile(observed, np.linspace(0.0, 1.0, int(n_bins) + 1)[1:])
    edges = np.unique(np.concatenate([[0.0], cuts]))
    if len(edges) < 2:
        raise DataError("time bins need an event time above 0 (every event is at time 0)")
    return edges


@overload
def bin_index(time: np.ndarray, edges: np.ndarray) -> np.ndarray: ...
@overload
def bin_index(time: torch.Tensor, edges: np.ndarray) -> torch.Tensor: ...
def bin_index(time: Any, edges: np.ndarray) -> Any:
    """Interval of each time: ``j`` for ``(edges[j], edges[j + 1]]``, ``J = len(edges) - 1``
    for a time after the last edge."""
    if isinstance(time, torch.Tensor):
        e = torch.as_tensor(np.asarray(edges), dtype=time.dtype, device=time.device)
        return (torch.searchsorted(e, time.contiguous(), right=False) - 1).clamp(min=0)
    return np.maximum(np.searchsorted(np.asarray(edges), np.asarray(time), side="left") - 1, 0)


def logistic_hazard_loss(
    hazard_logits: torch.Tensor, time: torch.Tensor, event: torch.Tensor, edges: np.ndarray
) -> torch.Tensor:
    """Negative log-likelihood of a discrete-time logistic-hazard model, averaged over patients.

    ``hazard_logits`` is ``(B, J)`` with ``J = len(edges) - 1``: the logit of the probability
    of the event in interval ``j`` given survival to its start. A patient with the event in
    interval ``k`` contributes "survived" terms for the intervals before ``k`` and an "event"
    term for ``k``. A patient censored in interval ``k`` survived the intervals before ``k``,
    and ``k`` itself when censored after its midpoint (half-interval rule). Times after the
    last edge, events included, count as surviving every interval.
    """
    if hazard_logits.ndim != 2 or hazard_logits.shape[1] != len(edges) - 1:
        raise ValueError(f"logistic_hazard_loss: logits {tuple(hazard_logits.shape)} for {len(edges) - 1} intervals")
    time = time.reshape(-1).to(hazard_logits.dtype)
    event = event.reshape(-1).bool()
    n_bins = hazard_logits.shape[1]
    k = bin_index(time, edges)
    inside = k < n_bins
    k = k.clamp(max=n_bins - 1)
    e = torch.as_tensor(np.asarray(edges), dtype=time.dtype, device=time.device)
    past_middle = time >= (e[:-1] + e[1:])[k] / 2
    columns = torch.arange(n_bins, device=time.device)[None, :]
    at_k = columns == k[:, None]
    died = (event & inside)[:, None] & at_k
    counted = (columns < k[:, None]) | died | (at_k & past_middle[:, None])
    terms = F.binary_cross_entropy_with_logits(hazard_logits, died.to(hazard_logits.dtype), reduction="none")
    return (terms * counted).sum() / max(1, hazard_logits.shape[0])


def survival_targets(time: torch.Tensor, event: torch.Tensor, edges: np.ndarray) -> torch.Tensor:
    """``(B, 4)`` targets of a logistic-hazard head: time, event, interval index ``k`` (as by
    :func:`bin_index`; ``J`` after the last edge) and whether interval ``k`` itself counts
    (the event is in it, or the censoring time is past its midpoint).

    With these, :func:`logistic_hazard_sample_loss` needs no edges, so training code can pass
    survival targets around like class labels.
    """
    time = time.reshape(-1).to(torch.float32)
    event = event.reshape(-1).bool()
    n_bins = len(edges) - 1
    k = bin_index(time, edges)
    inside = k < n_bins
    e = torch.as_tensor(np.asarray(edges), dtype=time.dtype, device=time.device)
    past_middle = time >= (e[:-1] + e[1:])[k.clamp(max=n_bins - 1)] / 2
    counted = (event & inside) | (past_middle & inside)
    return torch.stack([time, event.to(time.dtype), k.to(time.dtype), counted.to(time.dtype)], dim=1)


def logistic_hazard_sample_loss(hazard_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Each patient's negative log-likelihood ``(B,)`` under a logistic-hazard head, from
    :func:`survival_targets`; their mean is :func:`logistic_hazard_loss`."""
    if targets.ndim != 2 or targets.shape[1] != 4:
        raise ConfigError(
            "a logistic-hazard head needs time-bin targets (survival_targets); got targets of shape "
            f"{tuple(targets.shape)}"
        )
    n_bins = hazard_logits.shape[1]
    event, k, counted_k = targets[:, 1].bool(), targets[:, 2].long(), targets[:, 3].bool()
    inside = k < n_bins
    columns = torch.arange(n_bins, device=hazard_logits.device)[None, :]
    at_k = columns == k.clamp(max=n_bins - 1)[:, None]
    died = (event & inside)[:, None] & at_k
    counted = (columns < k[:, None]) | (at_k & (counted_k & inside)[:, None])
    terms = F.binary_cross_entropy_with_logits(hazard_logits, died.to(hazard_logits.dtype), reduction="none")
    return (terms * counted).sum(dim=1)


@overload
def survival_curve(hazard_logits: np.ndarray) -> np.ndarray: ...
@overload
def survival_curve(hazard_logits: torch.Tensor) -> torch.Tensor: ...
def survival_curve(hazard_logits: Any) -> Any:
    """Survival probability at the end of each interval: ``S_j = prod_{i <= j} (1 - h_i)``
    with ``h = sigmoid(logits)``, computed in log space (a tensor or an array, as given)."""
    if isinstance(hazard_logits, np.ndarray):
        return survival_curve(torch.from_numpy(hazard_logits)).numpy()
    return torch.exp(torch.cumsum(F.logsigmoid(-hazard_logits), dim=-1))


def survival_at(curve: np.ndarray, edges: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Read step survival curves ``(n, J)`` (values at ``edges[1:]``) at ``times``: ``(n, T)``.

    ``S(t) = 1`` before the first interval ends, ``S_j`` from ``edges[j + 1]`` on.
    """
    curve = np.asarray(curve, dtype=np.float64)
    step = np.searchsorted(np.asarray(edges)[1:], np.asarray(times, dtype=np.float64), side="right") - 1
    padded = np.concatenate([np.ones((curve.shape[0], 1)), curve], axis=1)
    return padded[:, step + 1]
