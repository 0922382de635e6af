"""Stage-dependent synthetic EEG, EOG and chin EMG for a sequence of raw stages (µV, 100 Hz).

EEG (Fpz-Cz): alpha (8-12 Hz) in W, theta in N1, spindles (12-14 Hz bursts), K-complexes and
some delta in N2, high-amplitude delta (0.5-2 Hz) in N3/N4 (more in N4), low-amplitude mixed
activity with sawtooth bursts in REM, all over a continuous 1/f background. EOG: blinks and
saccades in W, slow eye movements in N1, rapid eye movements in (phasic) REM, frontal delta
leaking in N3/N4. Per-recording gains, alpha frequency and noise level, and per-epoch random
amplitudes, make the task learnable but not trivial (N1/REM and N2/N3 overlap).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.signal import lfilter, sawtooth
from scipy.signal.windows import hann, tukey

RATE = 100
EPOCH_SECONDS = 30


class _Night:
    """Per-recording traits shared by all epochs of a night."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.eeg_gain = rng.uniform(0.7, 1.4)
        self.eog_gain = rng.uniform(0.6, 1.5)
        self.alpha = rng.uniform(8.5, 11.5)
        self.noise = rng.uniform(4.0, 8.0)


def simulate_signals(rng: np.random.Generator, stages: Sequence[str]) -> dict[str, np.ndarray]:
    """``{"eeg", "eog", "emg"}`` at 100 Hz (emg: a 1 Hz envelope) for the raw ``stages``."""
    night = _Night(rng)
    n = EPOCH_SECONDS * RATE
    taper = tukey(n, 0.1)
    eeg, eog, emg = [], [], []
    for stage in stages:
        kind = _stage_for_signal(rng, stage)
        brain, slow = _eeg_epoch(night, kind, n)
        eyes = _eog_epoch(night, kind, n)
        eeg.append(brain * taper)
        eog.append((eyes + 0.3 * slow) * taper)
        emg.append(_emg_epoch(rng, kind))
    background = _pink(rng, len(stages) * n) * night.noise
    eog_noise = _pink(rng, len(stages) * n) * night.noise * 0.8
    eeg_all = np.concatenate(eeg) * night.eeg_gain + background
    eog_all = np.concatenate(eog) * night.eog_gain + eog_noise
    blink_leak = 0.15 * np.concatenate(eog)  # frontal EEG sees the eyes
    return {"eeg": eeg_all + blink_leak, "eog": eog_all, "emg": np.concatenate(emg)}


def _stage_for_signal(rng: np.random.Generator, stage: str) -> str:
    if stage == "UNSCORED":
        return str(rng.choice(["W", "N1", "N2", "REM"]))
    return stage


def _t(n: int) -> np.ndarray:
    return np.arange(n) / RATE


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit-variance 1/f-like noise (one-pole low-pass of white noise plus white noise)."""
    red = lfilter([1.0], [1.0, -0.97], rng.standard_normal(n))
    red /= red.std() + 1e-12
    return 0.8 * red + 0.6 * rng.standard_normal(n)


def _osc(rng: np.random.Generator, n: int, low: float, high: float, amp: float) -> np.ndarray:
    """A sinusoid with random frequency in [low, high], phase and slow amplitude modulation."""
    t = _t(n)
    f = rng.uniform(low, high)
    drift = 1 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 2 * np.pi))
    return amp * drift * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))


def _bursts(rng: np.random.Generator, n: int, count: int, seconds: tuple[float, float], make) -> np.ndarray:
    """Sum of ``count`` bursts; ``make(length)`` draws one burst of ``length`` samples."""
    out = np.zeros(n)
    for _ in range(count):
        length = int(rng.uniform(*seconds) * RATE)
        start = int(rng.integers(0, n - length))
        out[start : start + length] += make(length)
    return out


def _spindle(rng: np.random.Generator, length: int) -> np.ndarray:
    return rng.uniform(10, 25) * hann(length) * np.sin(2 * np.pi * rng.uniform(12, 14) * _t(length))


def _k_complex(rng: np.random.Generator, length: int) -> np.ndarray:
    t = np.linspace(0, 1, length)
    wave = -np.exp(-(((t - 0.3) / 0.1) ** 2)) + 0.6 * np.exp(-(((t - 0.65) / 0.15) ** 2))
    return rng.uniform(50, 100) * wave


def _saw(rng: np.random.Generator, length: int) -> np.ndarray:
    return rng.uniform(10, 25) * hann(length) * sawtooth(2 * np.pi * rng.uniform(2, 5) * _t(length), 0.2)


def _delta(rng: np.random.Generator, n: int, amp: float) -> np.ndarray:
    return sum((_osc(rng, n, 0.5, 2.0, amp / np.sqrt(3)) for _ in range(3)), np.zeros(n))


def _eeg_epoch(night: _Night, stage: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of EEG and its slow (delta/K-complex) part, which the EOG also picks up."""
    rng = night.rng
    slow = np.zeros(n)
    if stage == "W":
        alpha = rng.uniform(2, 5) if rng.random() < 0.3 else rng.uniform(8, 20)  # eyes open / closed
        sig = _osc(rng, n, night.alpha - 0.5, night.alpha + 0.5, alpha) + _osc(rng, n, 18, 25, 3)
        sig += rng.standard_normal(n) * 3  # muscle
    elif stage == "N1":
        sig = _osc(rng, n, 4, 7, rng.uniform(6, 14)) + _osc(rng, n, night.alpha - 1, night.alpha, rng.uniform(0, 6))
        sig += _bursts(rng, n, int(rng.random() < 0.3), (0.2, 0.4), lambda m: rng.uniform(20, 40) * hann(m))
    elif stage == "N2":
        slow = _delta(rng, n, rng.uniform(4, 18))
        slow += _bursts(rng, n, int(rng.poisson(0.8)), (0.8, 1.0), lambda m: _k_complex(rng, m))
        sig = _osc(rng, n, 4, 7, rng.uniform(5, 10)) + slow
        sig += _bursts(rng, n, int(rng.poisson(2.0)), (0.5, 1.5), lambda m: _spindle(rng, m))
    elif stage in ("N3", "N4"):
        slow = _delta(rng, n, rng.uniform(28, 45) if stage == "N3" else rng.uniform(40, 65))
        sig = (
            slow
            + _osc(rng, n, 4, 7, 4)
            + _bursts(rng, n, int(rng.poisson(0.3)), (0.5, 1.0), lambda m: _spindle(rng, m))
        )
    elif stage == "REM":
        sig = _osc(rng, n, 4, 7, rng.uniform(4, 9)) + _osc(
            rng, n, night.alpha - 1.5, night.alpha - 0.5, rng.uniform(0, 4)
        )
        sig += _bursts(rng, n, int(rng.poisson(1.2)), (1.0, 3.0), lambda m: _saw(rng, m))
    else:  # MOVE: movement artefact
        sig = rng.standard_normal(n) * 40 + _osc(rng, n, 0.2, 1.0, 80)
    return sig, slow


def _eye_moves(rng: np.random.Generator, n: int, count: int, amp: tuple[float, float], tau: float) -> np.ndarray:
    """``count`` eye movements: fast (~60 ms) deflections of random sign decaying with ``tau`` s."""
    impulses = np.zeros(n)
    at = rng.integers(0, n, size=count)
    impulses[at] = rng.choice([-1.0, 1.0], size=count) * rng.uniform(*amp, size=count)
    decayed = lfilter([1.0], [1.0, -np.exp(-1.0 / (tau * RATE))], impulses)
    return np.convolve(decayed, np.ones(6) / 6, mode="same")


def _eog_epoch(night: _Night, stage: str, n: int) -> np.ndarray:
    rng = night.rng
    if stage == "W":
        blinks = _bursts(rng, n, int(rng.poisson(6)), (0.2, 0.4), lambda m: rng.uniform(80, 200) * hann(m))
        return blinks + _eye_moves(rng, n, int(rng.poisson(3)), (20, 60), 1.0)
    if stage == "N1":
        sem = _osc(rng, n, 0.1, 0.4, rng.uniform(30, 80)) if rng.random() < 0.7 else np.zeros(n)
        return sem + _bursts(rng, n, int(rng.random() < 0.2), (0.2, 0.4), lambda m: rng.uniform(50, 120) * hann(m))
    if stage == "REM":
        phasic = rng.random() < 0.7
        return _eye_moves(rng, n, int(rng.poisson(8)) if phasic else 0, (50, 150), 0.4)
    if stage == "MOVE":
        return rng.standard_normal(n) * 60 + _osc(rng, n, 0.1, 0.5, 150)
    return np.zeros(n)


def _emg_epoch(rng: np.random.Generator, stage: str) -> np.ndarray:
    """30 samples of a 1 Hz chin EMG envelope (high awake, lowest in REM)."""
    level = {"W": 20.0, "N1": 12.0, "N2": 10.0, "N3": 9.0, "N4": 9.0, "REM": 3.0, "MOVE": 60.0}.get(stage, 10.0)
    return np.abs(level + rng.standard_normal(EPOCH_SECONDS) * level * 0.2)
