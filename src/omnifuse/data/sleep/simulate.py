"""Synthetic Sleep-EDF-like nights: ``<name>-PSG.edf`` + ``<name>-Hypnogram.edf`` pairs.

Names follow Sleep-EDF (``SC4ssN E0-PSG.edf`` <-> ``SC4ssN EC-Hypnogram.edf``, two nights per
subject ``ss``), so the pairing and ``group_by="subject"`` rules are exercised. Each PSG holds
"EEG Fpz-Cz", "EOG horizontal" and a distractor "EMG submental" (1 Hz), at the requested rates
(EOG at 50 Hz by default, to exercise resampling). See :mod:`.simulate_stages` for the
hypnograms, :mod:`.simulate_signals` for the signals and :mod:`.simulate_artefacts` for the
noisy nights (one channel corrupted over 45-70% of the night, Whitlow et al. 2025 section 4.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from omnifuse.data.sleep.simulate_artefacts import ARTEFACTS, corrupt, corrupted_epochs
from omnifuse.data.sleep.simulate_signals import RATE, simulate_signals
from omnifuse.data.sleep.simulate_stages import simulate_stages
from omnifuse.data.sleep.write import DEFAULT_START, SignalChannel, write_hypnogram, write_psg
from omnifuse.errors import ConfigError
from omnifuse.utils.atomic import atomic_dir

#: Modality -> channel label written by the simulator (Sleep-EDF labels).
CHANNELS: dict[str, str] = {"eeg": "EEG Fpz-Cz", "eog": "EOG horizontal"}
DEFAULT_RATES: dict[str, int] = {"eeg": 100, "eog": 50}
DISTRACTOR = "EMG submental"
_RANGE = {"eeg": 500.0, "eog": 1000.0}


@dataclass(frozen=True)
class SimulatedNight:
    """One written night: names, files, raw stages (one per 30 s epoch), modalities written,
    and for a noisy night the corrupted modality, the artefact ("movement" or "detachment")
    and the corrupted epochs (indices on the night's 30 s grid)."""

    name: str
    psg: Path
    hypnogram: Path
    stages: tuple[str, ...]
    modalities: tuple[str, ...]
    noisy: str | None = None
    artefact: str | None = None
    corrupted: tuple[int, ...] = ()


def night_name(i: int) -> str:
    """Sleep-EDF-like name of night ``i``: subject ``i // 2``, night ``i % 2 + 1`` (``SC4001E0``)."""
    return f"SC4{i // 2:02d}{i % 2 + 1}E0"


def simulate_sleep(
    out_dir: str | Path,
    n_recordings: int = 10,
    n_epochs: int = 120,
    seed: int = 0,
    modalities: Sequence[str] = ("eeg", "eog"),
    sampling_rates: Mapping[str, int] | None = None,
    unimodal: int = 0,
    noisy: int = 0,
    overwrite: bool = False,
) -> list[SimulatedNight]:
    """Write ``n_recordings`` synthetic nights of ``n_epochs`` 30 s epochs into ``out_dir``.

    Args:
        modalities: which of "eeg", "eog" to write (the distractor EMG is always written).
        sampling_rates: Hz per modality (default EEG 100, EOG 50).
        unimodal: the last ``unimodal`` nights carry a single modality, alternately EEG only
            and EOG only (Whitlow et al. 2025 section 4.5); needs two modalities.
        noisy: the ``noisy`` nights just before the unimodal ones have one channel corrupted
            over 45-70% of their epochs (:mod:`.simulate_artefacts`): EEG and EOG in turn, by
            movement/EMG bursts or electrode detachment (both kinds from two noisy nights on).
        overwrite: replace a non-empty ``out_dir``.

    Same seed, same files. Returns what was written.
    """
    unknown = sorted(set(modalities) - set(CHANNELS))
    if unknown or not modalities:
        raise ConfigError(f"simulated modalities must be among {', '.join(CHANNELS)}, got {list(modalities)}")
    if not 0 <= unimodal <= n_recordings or (unimodal and len(modalities) < 2):
        raise ConfigError(f"unimodal must be between 0 and n_recordings ({n_recordings}) and needs two modalities")
    if not 0 <= noisy <= n_recordings - unimodal:
        raise ConfigError(
            f"noisy must be between 0 and n_recordings - unimodal ({n_recordings - unimodal}), got {noisy}"
        )
    if n_recordings < 1 or n_recordings > 200:
        raise ConfigError(f"n_recordings must be between 1 and 200, got {n_recordings}")
    rates = {**DEFAULT_RATES, **(sampling_rates or {})}
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"{out}: directory exists and is not empty (use --overwrite to replace it)")
    nights: list[SimulatedNight] = []
    with atomic_dir(out, overwrite=True) as tmp:
        for i, child in enumerate(np.random.SeedSequence(seed).spawn(n_recordings)):
            rng = np.random.default_rng(child)
            name = night_name(i)
            kept = list(modalities)
            if i >= n_recordings - unimodal:
                kept = [kept[(i - (n_recordings - unimodal)) % len(kept)]]
            stages = simulate_stages(rng, n_epochs)
            signals = simulate_signals(rng, stages)
            k = i - (n_recordings - unimodal - noisy)  # index among the noisy nights
            target = artefact = None
            corrupted: tuple[int, ...] = ()
            if 0 <= k < noisy:
                target = kept[k % len(kept)]
                artefact = ARTEFACTS[(k + k // 2) % 2]  # eeg/movement, eog/detachment, eeg/detachment, ...
                bad = corrupted_epochs(rng, n_epochs)
                signals[target] = corrupt(rng, signals[target], bad, artefact)
                corrupted = tuple(int(e) for e in bad)
            channels = {CHANNELS[m]: _channel(m, signals[m], rates[m]) for m in kept}
            channels[DISTRACTOR] = SignalChannel(signals["emg"], 1, 0.0, 200.0)
            write_psg(tmp / f"{name}-PSG.edf", channels, DEFAULT_START)
            write_hypnogram(tmp / f"{name[:-1]}C-Hypnogram.edf", stages, start=DEFAULT_START)
            nights.append(
                SimulatedNight(
                    name,
                    out / f"{name}-PSG.edf",
                    out / f"{name[:-1]}C-Hypnogram.edf",
                    tuple(stages),
                    tuple(kept),
                    target,
                    artefact,
                    corrupted,
                )  # fmt: skip
            )
    return nights


def _channel(modality: str, samples: np.ndarray, rate: int) -> SignalChannel:
    """Samples at ``rate`` Hz (resampled from the 100 Hz simulation)."""
    if rate <= 0:
        raise ConfigError(f"sampling rate of '{modality}' must be positive, got {rate}")
    if rate != RATE:
        g = np.gcd(int(rate), RATE)
        samples = resample_poly(samples, int(rate) // g, RATE // g)
    return SignalChannel(samples, int(rate), -_RANGE[modality], _RANGE[modality])
