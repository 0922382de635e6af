"""One night -> a small `MultimodalDataset` of 30 s epochs (the unit that is cached).

Order of the steps (Whitlow et al. 2025 section 3.1): read the hypnogram and label the 30 s grid;
consolidate stages (N4 -> N3) and drop movement/unscored epochs; exclude the recording when
a class is missing (``require_all_stages``); trim edge wake; refuse it when fewer than
``min_epochs`` remain; only then read, resample, filter and transform the picked channels.
The standard deviation of each band-passed 100 Hz epoch is kept in ``info["epoch_std"]``
(modality -> one value per epoch) for the noisy-recording detection of :mod:`.quality`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.sleep.config import MissingChannel, SleepSettings
from omnifuse.data.sleep.edf import ChannelError, ChannelInfo, EdfHeader, pick_channel, read_channel, read_header
from omnifuse.data.sleep.epochs import epoch_ids
from omnifuse.data.sleep.hypnogram import MOVE, UNSCORED, epoch_stages, read_hypnogram
from omnifuse.data.sleep.pairing import Recording
from omnifuse.data.sleep.preprocess import filtered_epochs, frequency_labels, spectrogram
from omnifuse.data.sleep.stages import STAGES, consolidate, missing_stages, wake_trim
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import DataError, DataWarning


@dataclass(frozen=True)
class RecordingOptions:
    """What decides the epochs and features of one recording (all part of the cache key)."""

    modalities: Mapping[str, Sequence[str]]
    settings: SleepSettings
    require_all_stages: bool = True
    min_epochs: int = 21
    missing_channel: MissingChannel = "error"

    def key(self) -> str:
        mods = ";".join(f"{m}={'|'.join(a)}" for m, a in sorted(self.modalities.items()))
        return f"{mods}/{self.settings.key()}/{self.require_all_stages}/{self.min_epochs}/{self.missing_channel}"


def labelled_epochs(
    recording: Recording, header: EdfHeader, n_epochs: int, options: RecordingOptions
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    """``(positions, y, counts)``: grid positions and classes of the epochs kept after all label
    steps, and how many epochs each step removed (``grid``, ``movement``, ``unscored``,
    ``wake_trimmed``, ``kept``)."""
    hypnogram = read_hypnogram(recording.hypnogram, header.start)
    raw = epoch_stages(hypnogram, n_epochs, options.settings.epoch_seconds)
    y = consolidate(raw)
    positions = np.flatnonzero(y >= 0)
    y = y[positions]
    if options.require_all_stages and (lacking := missing_stages(y)):
        raise DataError(
            f"{recording.psg}: no {', '.join(lacking)} epoch in {recording.hypnogram.name} "
            "(recordings lacking a stage are excluded; set require_all_stages=false to keep them)"
        )
    start, stop = wake_trim(y)
    counts = {"grid": n_epochs, "movement": int((raw == MOVE).sum()), "unscored": int((raw == UNSCORED).sum()),
              "wake_trimmed": int(len(y) - (stop - start)), "kept": int(stop - start)}  # fmt: skip
    positions, y = positions[start:stop], y[start:stop]
    if len(y) < options.min_epochs:
        raise DataError(
            f"{recording.psg}: only {len(y)} scored epochs after preprocessing "
            f"(fewer than min_epochs={options.min_epochs})"
        )
    return positions, y, counts


def build_recording(recording: Recording, options: RecordingOptions) -> MultimodalDataset:
    """The epochs of ``recording`` with one ``(29, 128)`` spectrogram per present modality.

    A missing or unusable channel raises :class:`ChannelError`, or with
    ``missing_channel="absent"`` warns and leaves the modality out (absent for these epochs).
    """
    header = read_header(recording.psg)
    channels: dict[str, ChannelInfo] = {}
    for name, aliases in options.modalities.items():
        try:
            channels[name] = pick_channel(header, name, aliases)
        except ChannelError as exc:
            _absent_or_raise(exc, options)
    if not channels:
        raise DataError(f"{recording.psg}: none of the modalities {', '.join(options.modalities)} has a channel")
    duration = min(c.duration for c in channels.values())
    n_epochs = int(duration // options.settings.epoch_seconds)
    positions, y, counts = labelled_epochs(recording, header, n_epochs, options)
    features: dict[str, np.ndarray] = {}
    epoch_std: dict[str, np.ndarray] = {}
    for name, channel in channels.items():
        try:
            signal = read_channel(recording.psg, channel)
        except ChannelError as exc:
            _absent_or_raise(exc, options)
            continue
        band = options.settings.band(name)
        epochs = filtered_epochs(signal, channel.sampling_rate, band, positions, options.settings)
        features[name] = spectrogram(epochs, options.settings) if len(epochs) else _no_frames(options.settings)
        epoch_std[name] = epochs.std(axis=1)
    if not features:
        raise DataError(f"{recording.psg}: no usable channel for {', '.join(options.modalities)}")
    ds = _dataset(recording, y, features, {m: channels[m] for m in features}, options.settings)
    ds.info["epoch_std"] = {m: [float(v) for v in std] for m, std in epoch_std.items()}
    ds.info["epochs"] = counts
    return ds


def _no_frames(settings: SleepSettings) -> np.ndarray:
    return np.zeros((0, settings.n_frames, settings.n_bins), dtype=np.float32)


def _absent_or_raise(exc: ChannelError, options: RecordingOptions) -> None:
    if options.missing_channel != "absent":
        raise exc
    warnings.warn(f"{exc}; the modality is absent for this recording", DataWarning, stacklevel=3)


def signal_spec(name: str, settings: SleepSettings, channels: Sequence[str]) -> ModalitySpec:
    """Spec of a sleep modality: kind "signal", shape (frames, bins), bins named "0.39Hz"..."""
    unique = sorted(set(channels))
    return ModalitySpec(
        name=name,
        kind="signal",
        feature_names=frequency_labels(settings),
        shape=(settings.n_frames, settings.n_bins),
        time_unit="seconds",
        extra={
            "channel": max(unique, key=list(channels).count) if unique else "",
            "channels": unique,
            "sampling_rate": settings.sampling_rate,
            "band": list(settings.band(name)),
            "frame_seconds": settings.hop / settings.sampling_rate,
        },
    )


def _dataset(
    recording: Recording,
    y: np.ndarray,
    features: dict[str, np.ndarray],
    channels: dict[str, ChannelInfo],
    settings: SleepSettings,
) -> MultimodalDataset:
    n = len(y)
    return MultimodalDataset(
        specs=[signal_spec(m, settings, [channels[m].label]) for m in features],
        data=features,
        mask=np.ones((n, len(features)), dtype=bool),
        labels=Labels("multiclass", y.astype(np.int64), STAGES),
        sample_ids=epoch_ids(recording.name, n),
        groups=np.full(n, recording.name),
        info={
            "recording": recording.name,
            "psg": str(recording.psg),
            "hypnogram": str(recording.hypnogram),
            "channels": {m: c.label for m, c in channels.items()},
            "sampling_rates": {m: c.sampling_rate for m, c in channels.items()},
        },
    )
