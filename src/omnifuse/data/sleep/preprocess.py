"""Signal side of MedFuseSleep (Whitlow et al. 2025) section 3.1: resample to 100 Hz, FIR band-pass, log-magnitude STFT.

* Resampling: :func:`scipy.signal.resample_poly` with the rational factor ``target / rate``
  (``limit_denominator(1000)``; 125 -> 100 Hz is 4/5, 256 -> 100 Hz is 25/64).
* Band-pass: a Hamming-window FIR (:func:`scipy.signal.firwin`, 1101 taps at 100 Hz) applied
  once with :func:`scipy.signal.oaconvolve` in "same" mode. The filter is symmetric
  (linear phase), so removing its group delay ("same" centring) makes it exactly zero-phase;
  its magnitude response is applied once (``filtfilt`` would square it and take ~15x longer).
  The signal is extended by odd reflection at both ends, as ``filtfilt`` does.
* STFT per 30 s epoch (frames never straddle two epochs): :func:`scipy.signal.stft` with a
  200-sample Hamming window, stride 100, nfft 256, no boundary padding -> 129 bins x 29 frames.
  The DC bin (0 Hz, removed by the band-pass anyway) is dropped, keeping 128 bins from
  0.39 Hz to 50 Hz (Nyquist included). Features: ``log(|X| + eps)`` as float32 ``(29, 128)``.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import numpy as np
from scipy.signal import firwin, oaconvolve, resample_poly, stft

from omnifuse.data.sleep.config import SleepSettings
from omnifuse.errors import DataError


def resample(x: np.ndarray, rate: float, target: float = 100.0) -> np.ndarray:
    """``x`` sampled at ``rate`` Hz, resampled to ``target`` Hz (polyphase, anti-aliased)."""
    if not rate > 0:
        raise DataError(f"cannot resample a signal with sampling rate {rate:g} Hz")
    factor = Fraction(target / rate).limit_denominator(1000)
    if factor == 1:
        return np.asarray(x, dtype=np.float64)
    return resample_poly(x, factor.numerator, factor.denominator)


@lru_cache(maxsize=32)
def fir_taps(low: float, high: float, fs: float, numtaps: int) -> np.ndarray:
    """Band-pass FIR taps (a high-pass when ``high`` reaches the Nyquist frequency)."""
    if numtaps % 2 == 0:
        raise DataError(f"the band-pass FIR needs an odd number of taps, got {numtaps}")
    cutoff: float | list[float] = low if high >= fs / 2 else [low, high]
    return firwin(numtaps, cutoff, pass_zero=False, fs=fs)


def bandpass(x: np.ndarray, band: tuple[float, float], fs: float = 100.0, numtaps: int = 1101) -> np.ndarray:
    """Zero-phase FIR band-pass of ``x`` (1-D) between ``band`` Hz (module docstring)."""
    taps = fir_taps(float(band[0]), float(band[1]), float(fs), int(numtaps))
    pad = min(numtaps, len(x) - 1)
    extended = np.pad(x, pad, mode="reflect", reflect_type="odd") if pad > 0 else x
    return oaconvolve(extended, taps, mode="same")[pad : pad + len(x)]


def frequencies(settings: SleepSettings | None = None) -> np.ndarray:
    """Centre frequency (Hz) of each kept STFT bin (DC dropped): 0.39 ... 50 Hz."""
    s = settings or SleepSettings()
    return np.fft.rfftfreq(s.nfft, d=1.0 / s.sampling_rate)[1:]


def frequency_labels(settings: SleepSettings | None = None) -> tuple[str, ...]:
    """Feature names of the kept bins: ``"0.39Hz"``, ``"0.78Hz"``, ... ``"50.00Hz"``."""
    return tuple(f"{f:.2f}Hz" for f in frequencies(settings))


def spectrogram(epochs: np.ndarray, settings: SleepSettings | None = None) -> np.ndarray:
    """Log-magnitude STFT of each epoch: ``(n, epoch_samples)`` -> float32 ``(n, frames, bins)``."""
    s = settings or SleepSettings()
    _, _, z = stft(
        epochs, fs=s.sampling_rate, window="hamming", nperseg=s.window, noverlap=s.window - s.hop,
        nfft=s.nfft, boundary=None, padded=False, detrend=False, axis=-1,
    )  # fmt: skip
    magnitude = np.abs(z[:, 1:, :])  # (n, bins, frames), DC dropped
    return np.log(magnitude + s.log_eps).transpose(0, 2, 1).astype(np.float32)


def filtered_epochs(
    x: np.ndarray, rate: float, band: tuple[float, float], positions: np.ndarray, settings: SleepSettings | None = None
) -> np.ndarray:
    """Resample and band-pass a whole-night signal ``x``; return the epochs ``positions``.

    ``positions`` are epoch indices on the recording's 30 s grid (starting at the first
    sample). Only the span of the kept epochs (plus one filter length each side) is filtered.
    Returns float64 ``(len(positions), epoch_samples)`` at ``settings.sampling_rate``.
    """
    s = settings or SleepSettings()
    positions = np.asarray(positions, dtype=np.int64)
    n_ep = s.epoch_samples
    signal = resample(x, rate, s.sampling_rate)
    if len(positions) == 0:
        return np.zeros((0, n_ep))
    if (positions[-1] + 1) * n_ep > len(signal):
        raise DataError(
            f"epoch {int(positions[-1])} lies beyond the end of the signal ({len(signal) / s.sampling_rate:.0f} s)"
        )
    lo = max(0, int(positions.min()) * n_ep - s.fir_numtaps)
    hi = min(len(signal), (int(positions.max()) + 1) * n_ep + s.fir_numtaps)
    filtered = bandpass(signal[lo:hi], band, s.sampling_rate, s.fir_numtaps)
    starts = positions * n_ep - lo
    return filtered[starts[:, None] + np.arange(n_ep)[None, :]]


def channel_features(
    x: np.ndarray, rate: float, band: tuple[float, float], positions: np.ndarray, settings: SleepSettings | None = None
) -> np.ndarray:
    """Resample, band-pass and STFT the epochs ``positions`` of a whole-night signal ``x``.

    See :func:`filtered_epochs`. Returns float32 ``(len(positions), frames, bins)``.
    """
    s = settings or SleepSettings()
    epochs = filtered_epochs(x, rate, band, positions, s)
    if len(epochs) == 0:
        return np.zeros((0, s.n_frames, s.n_bins), dtype=np.float32)
    return spectrogram(epochs, s)
