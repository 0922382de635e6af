import numpy as np
import pytest
from scipy.signal import freqz

from omnifuse.data.sleep.config import SleepSettings
from omnifuse.data.sleep.preprocess import (
    bandpass, channel_features, fir_taps, frequencies, frequency_labels, resample, spectrogram,
)  # fmt: skip

S = SleepSettings()


def sine(freq: float, rate: float, seconds: float, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * freq * np.arange(int(seconds * rate)) / rate)


def test_stft_shape_and_bins():
    out = spectrogram(np.zeros((3, 3000)), S)
    assert out.shape == (3, 29, 128) and out.dtype == np.float32
    freqs = frequencies(S)
    assert len(freqs) == 128 and freqs[0] == pytest.approx(0.390625) and freqs[-1] == 50.0  # DC dropped
    labels = frequency_labels(S)
    assert labels[0] == "0.39Hz" and labels[25] == "10.16Hz" and labels[-1] == "50.00Hz"


def test_ten_hertz_sine_peaks_in_its_bin():
    out = spectrogram(sine(10.0, 100, 30).reshape(1, -1), S)
    peak = out[0].mean(axis=0).argmax()
    assert frequencies(S)[peak] == pytest.approx(10.0, abs=0.2)  # bin 25 = 10.16 Hz (or 9.77)
    assert np.all(out[0].argmax(axis=1) == peak)  # every frame


def test_log_magnitude_of_silence_is_log_eps():
    out = spectrogram(np.zeros((1, 3000)), S)
    assert np.allclose(out, np.log(S.log_eps))


def test_bandpass_attenuates_50hz_and_keeps_10hz_without_phase_shift():
    fs = 100.0
    x10 = sine(10.0, fs, 60)
    y10 = bandpass(x10, (0.3, 40.0), fs)
    core = slice(2000, -2000)
    np.testing.assert_allclose(y10[core], x10[core], atol=0.02)  # passband, zero phase
    for f in (45.0, 49.5):
        y = bandpass(sine(f, fs, 60), (0.3, 40.0), fs)
        assert np.abs(y[core]).max() < 0.01
    # 50 Hz (mains) recorded at 200 Hz: resampling + band-pass remove it
    mains = resample(sine(50.0, 200, 60) + sine(10.0, 200, 60), 200)
    y = bandpass(mains, (0.3, 40.0), fs)
    np.testing.assert_allclose(y[core], x10[core], atol=0.03)


def test_fir_response():
    taps = fir_taps(0.3, 23.0, 100.0, 1101)
    np.testing.assert_allclose(taps, taps[::-1])  # symmetric: linear phase
    w, h = freqz(taps, worN=[0.05, 5.0, 20.0, 30.0, 45.0], fs=100.0)
    gain = np.abs(h)
    assert gain[0] < 0.05 and gain[1] == pytest.approx(1, abs=0.01) and gain[2] == pytest.approx(1, abs=0.01)
    assert gain[3] < 0.01 and gain[4] < 0.01


def test_bandpass_removes_drift():
    fs = 100.0
    x = sine(10.0, fs, 60) + 50.0 + np.linspace(0, 30, 6000)
    y = bandpass(x, (0.3, 40.0), fs)
    assert abs(y[2000:-2000].mean()) < 0.2  # from a mean of ~65


@pytest.mark.parametrize("rate", [50, 125, 200, 256])
def test_resampling_to_100hz(rate):
    x = sine(7.0, rate, 30) + (sine(20.0, rate, 30) if rate > 50 else 0)
    y = resample(x, rate)
    assert len(y) == 3000
    expected = sine(7.0, 100, 30) + (sine(20.0, 100, 30) if rate > 50 else 0)
    np.testing.assert_allclose(y[100:-100], expected[100:-100], atol=0.02)


def test_channel_features_from_other_rates_agree():
    pos = np.array([1, 2, 4])
    ref = channel_features(sine(10.0, 100, 180, 20), 100, (0.3, 40.0), pos, S)
    for rate in (50, 200):
        out = channel_features(sine(10.0, rate, 180, 20), rate, (0.3, 40.0), pos, S)
        assert out.shape == (3, 29, 128)
        bin10 = 25
        np.testing.assert_allclose(out[:, :, bin10], ref[:, :, bin10], atol=0.05)


def test_channel_features_only_picked_epochs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(100 * 300)
    full = channel_features(x, 100, (0.3, 40.0), np.arange(10), S)
    some = channel_features(x, 100, (0.3, 40.0), np.array([3, 4, 8]), S)
    np.testing.assert_allclose(some, full[[3, 4, 8]], atol=1e-4)


def test_settings_band_lookup():
    assert S.band("eeg") == (0.3, 40.0) and S.band("EOG") == (0.3, 23.0)
    assert S.band("eog_left") == (0.3, 23.0) and S.band("emg") == (0.3, 40.0)
    assert S.n_frames == 29 and S.n_bins == 128
