"""Long-lasting artefacts that make a simulated channel noisy (Whitlow et al. 2025 section 4.4).

A noisy night has one channel corrupted over 45-70% of its epochs, in one to three long
runs of whole epochs, by one of two artefacts:

* ``"movement"``: high-amplitude movement / muscle (EMG) bursts of 2-8 s, a few per epoch
  (covering ~70-100% of it), each broadband (white EMG-like noise plus 0.3-3 Hz body-movement
  swings) at 5-20x the channel's normal amplitude (its median epoch STD in that night);
  the amplifier may clip the largest ones, as a real one does;
* ``"detachment"``: the electrode comes off: the channel is near-flat (noise at 1/200 of the
  normal amplitude) with a slow (< 0.05 Hz) electrode drift.

The stages (and the hypnogram) are not touched.
"""

from __future__ import annotations

import numpy as np
from scipy.signal.windows import tukey

from omnifuse.data.sleep.simulate_signals import EPOCH_SECONDS, RATE

ARTEFACTS = ("movement", "detachment")
#: Share of the night's epochs a noisy channel is corrupted over.
CORRUPTED_SHARE = (0.45, 0.70)


def corrupted_epochs(
    rng: np.random.Generator, n_epochs: int, share: tuple[float, float] = CORRUPTED_SHARE
) -> np.ndarray:
    """Sorted epoch indices: one to three runs covering ``share`` of ``n_epochs``."""
    n_bad = int(round(rng.uniform(*share) * n_epochs))
    n_runs = min(int(rng.integers(1, 4)), n_bad)
    runs = _partition(rng, n_bad, n_runs, minimum=1)
    gaps = _partition(rng, n_epochs - n_bad, n_runs + 1, minimum=0)
    out: list[int] = []
    at = 0
    for gap, run in zip(gaps, runs):
        at += gap
        out.extend(range(at, at + run))
        at += run
    return np.asarray(out, dtype=np.int64)


def corrupt(rng: np.random.Generator, signal: np.ndarray, epochs: np.ndarray, kind: str) -> np.ndarray:
    """``signal`` (100 Hz, whole night) with ``epochs`` corrupted by the artefact ``kind``."""
    if kind not in ARTEFACTS:
        raise ValueError(f"artefact must be one of {', '.join(ARTEFACTS)}, got '{kind}'")
    n = EPOCH_SECONDS * RATE
    x = np.asarray(signal, dtype=np.float64).copy()
    per_epoch = x[: len(x) // n * n].reshape(-1, n)
    normal = float(np.median(per_epoch.std(axis=1)))
    for start, stop in _runs(np.asarray(epochs, dtype=np.int64)):
        span = slice(start * n, stop * n)
        if kind == "movement":
            x[span] += np.concatenate([_movement_epoch(rng, n, normal) for _ in range(stop - start)])
        else:
            x[span] = _detached(rng, (stop - start) * n, normal)
    return x


def _movement_epoch(rng: np.random.Generator, n: int, normal: float) -> np.ndarray:
    """Back-to-back bursts of 2-8 s with short gaps, each at 5-20x ``normal`` RMS."""
    out = np.zeros(n)
    at = int(rng.uniform(0, 1.5) * RATE)
    while at < n:
        length = min(int(rng.uniform(2, 8) * RATE), n - at)
        if length >= RATE // 2:
            out[at : at + length] = _burst(rng, length, rng.uniform(5, 20) * normal)
        at += length + int(rng.uniform(0, 1.5) * RATE)
    return out


def _burst(rng: np.random.Generator, length: int, rms: float) -> np.ndarray:
    """Broadband burst: white (EMG-like) noise plus low-frequency movement swings."""
    t = np.arange(length) / RATE
    swing = sum(np.sin(2 * np.pi * rng.uniform(0.3, 3.0) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3))
    emg = rng.standard_normal(length)
    mix = rng.uniform(0.3, 0.7)
    raw = np.sqrt(mix) * emg / (emg.std() + 1e-12) + np.sqrt(1 - mix) * swing / (np.std(swing) + 1e-12)
    return rms * raw * tukey(length, 0.2)


def _detached(rng: np.random.Generator, length: int, normal: float) -> np.ndarray:
    """Near-flat: a slow drift (0.005-0.05 Hz, up to 0.5-2x ``normal``) plus noise at 1/200 of it."""
    t = np.arange(length) / RATE
    drift = sum(
        (np.sin(2 * np.pi * rng.uniform(0.005, 0.05) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3)),
        np.zeros(length),
    )
    drift = (drift - drift[0]) / 3 * rng.uniform(0.5, 2.0) * normal
    return drift + rng.standard_normal(length) * normal / 200


def _runs(epochs: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous ``[start, stop)`` runs of sorted epoch indices."""
    if len(epochs) == 0:
        return []
    breaks = np.flatnonzero(np.diff(epochs) != 1) + 1
    return [(int(r[0]), int(r[-1]) + 1) for r in np.split(epochs, breaks)]


def _partition(rng: np.random.Generator, total: int, parts: int, minimum: int) -> list[int]:
    """``total`` split into ``parts`` random non-negative integers, each at least ``minimum``."""
    if parts <= 0:
        return []
    spare = total - parts * minimum
    cuts = np.sort(rng.integers(0, spare + 1, size=parts - 1))
    sizes = np.diff(np.concatenate([[0], cuts, [spare]]))
    return (sizes + minimum).astype(int).tolist()
