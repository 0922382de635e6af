"""Synthetic nights shared by the sleep tests, and helpers to write hand-made recordings."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.sleep.simulate import CHANNELS, simulate_sleep
from omnifuse.data.sleep.simulate_signals import simulate_signals
from omnifuse.data.sleep.write import SignalChannel, write_hypnogram, write_psg

N_EPOCHS = 80


@pytest.fixture(scope="session")
def sleep_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three simulated nights (EEG 100 Hz, EOG 50 Hz), written once per session."""
    folder = tmp_path_factory.mktemp("sleep") / "nights"
    simulate_sleep(folder, n_recordings=3, n_epochs=N_EPOCHS, seed=3)
    return folder


@pytest.fixture
def sleep_dir(sleep_source: Path, tmp_path: Path) -> Path:
    """A private copy of the simulated nights that a test may add files to."""
    return Path(shutil.copytree(sleep_source, tmp_path / "nights"))


def write_night(
    folder: Path,
    name: str,
    stages: Sequence[str],
    seed: int = 0,
    channels: dict[str, str] | None = None,
    override: dict[str, np.ndarray] | None = None,
    hypnogram: bool = True,
) -> Path:
    """Write ``<name>-PSG.edf`` (+ ``<name>-Hypnogram.edf``) for raw ``stages`` at 100 Hz.

    ``channels`` maps simulated signal ("eeg", "eog") -> label to write (default: both, with
    the Sleep-EDF labels); ``override`` replaces a signal's samples by label.
    """
    signals = simulate_signals(np.random.default_rng(seed), list(stages))
    labels = channels if channels is not None else dict(CHANNELS)
    written = {label: SignalChannel(signals[m], 100, -500.0, 500.0) for m, label in labels.items()}
    for label, samples in (override or {}).items():
        written[label] = SignalChannel(samples, 100, -500.0, 500.0)
    psg = write_psg(folder / f"{name}-PSG.edf", written)
    if hypnogram:
        write_hypnogram(folder / f"{name}-Hypnogram.edf", stages)
    return psg


#: A short but complete night: 40 epochs, every class, wake at both ends.
NIGHT = ["W"] * 6 + ["N1"] * 3 + ["N2"] * 10 + ["N3"] * 4 + ["N4"] * 2 + ["N2"] * 4 + ["REM"] * 6 + ["W"] * 5
