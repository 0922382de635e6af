"""Read polysomnography EDF/EDF+ files: channel list, channel picking by alias, checked signals.

Channel labels match case- and space-insensitively (``"EEG Fpz-Cz"`` == ``"eeg fpz-cz"``).
A signal is returned in µV when its EDF physical dimension says V, mV, µV/uV or nV (as is),
otherwise in its own unit. A channel is refused (:class:`ChannelError`, naming file and
channel) when its sampling rate is not positive, when it is flat (standard deviation below
half a digital step) or saturated (more than half its samples at the digital min/max).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from omnifuse.errors import DataError

#: Fraction of samples at the digital limits above which a channel is saturated.
SATURATION_FRACTION = 0.5
#: A channel whose standard deviation is below this many digital steps is flat.
FLAT_STEPS = 0.5
_TO_MICROVOLT = {"v": 1e6, "mv": 1e3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "nv": 1e-3}


class ChannelError(DataError):
    """A modality's channel is missing or unusable in one recording."""


@dataclass(frozen=True)
class ChannelInfo:
    """Header of one signal of an EDF file."""

    index: int
    label: str
    sampling_rate: float
    n_samples: int
    dimension: str
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int

    @property
    def duration(self) -> float:
        """Seconds covered by the channel (0 for a non-positive rate)."""
        return self.n_samples / self.sampling_rate if self.sampling_rate > 0 else 0.0


@dataclass(frozen=True)
class EdfHeader:
    """What a PSG file holds: its path, start time and signals."""

    path: Path
    start: datetime
    channels: tuple[ChannelInfo, ...]

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.channels]

    def rates(self) -> dict[str, float]:
        """Channel label -> sampling rate (Hz)."""
        return {c.label: c.sampling_rate for c in self.channels}


def normalize_label(label: str) -> str:
    """Case- and whitespace-insensitive form of a channel label."""
    return "".join(str(label).split()).lower()


@contextmanager
def open_edf(path: str | Path) -> Iterator[pyedflib.EdfReader]:
    """Open an EDF/EDF+ file; an unreadable file is a DataError naming it."""
    path = Path(path)
    try:
        reader = pyedflib.EdfReader(str(path))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read EDF ({' '.join(str(exc).split())})") from exc
    try:
        yield reader
    finally:
        reader.close()


def read_header(path: str | Path) -> EdfHeader:
    """Start time and signal headers of the EDF file ``path``."""
    with open_edf(path) as f:
        channels = tuple(
            ChannelInfo(
                index=i,
                label=f.getLabel(i).strip(),
                sampling_rate=float(f.getSampleFrequency(i)),
                n_samples=int(f.getNSamples()[i]),
                dimension=f.getPhysicalDimension(i).strip(),
                physical_min=float(f.getPhysicalMinimum(i)),
                physical_max=float(f.getPhysicalMaximum(i)),
                digital_min=int(f.getDigitalMinimum(i)),
                digital_max=int(f.getDigitalMaximum(i)),
            )
            for i in range(f.signals_in_file)
        )
        return EdfHeader(Path(path), f.getStartdatetime(), channels)


def list_channels(path: str | Path) -> dict[str, float]:
    """Channel label -> sampling rate (Hz) of the EDF file ``path``."""
    return read_header(path).rates()


def pick_channel(header: EdfHeader, modality: str, aliases: Sequence[str]) -> ChannelInfo:
    """The first channel of ``header`` matching one of ``aliases`` (in alias order)."""
    by_label = {normalize_label(c.label): c for c in reversed(header.channels)}
    for alias in aliases:
        found = by_label.get(normalize_label(alias))
        if found is not None:
            return found
    raise ChannelError(
        f"{header.path}: no channel for modality '{modality}' (wanted one of "
        f"{', '.join(map(repr, aliases))}; the recording has: {', '.join(map(repr, header.labels)) or 'no signals'})"
    )


def read_channel(path: str | Path, channel: ChannelInfo) -> np.ndarray:
    """The checked physical signal of ``channel`` as float64 (µV when the unit is known)."""
    if not channel.sampling_rate > 0:
        raise ChannelError(
            f"{path}: channel '{channel.label}' has sampling rate {channel.sampling_rate:g} Hz (must be > 0)"
        )
    with open_edf(path) as f:
        digital = f.readSignal(channel.index, digital=True)
    if len(digital) == 0:
        raise ChannelError(f"{path}: channel '{channel.label}' has no samples")
    check_signal(path, channel, digital)
    span_d = channel.digital_max - channel.digital_min
    scale = (channel.physical_max - channel.physical_min) / span_d if span_d else 1.0
    unit = _TO_MICROVOLT.get(normalize_label(channel.dimension), 1.0)
    return (digital.astype(np.float64) - channel.digital_min) * (scale * unit) + channel.physical_min * unit


def check_signal(path: str | Path, channel: ChannelInfo, digital: np.ndarray) -> None:
    """Raise ChannelError when the digital samples of ``channel`` are flat or saturated."""
    std = float(np.std(digital))
    if std < FLAT_STEPS:
        raise ChannelError(f"{path}: channel '{channel.label}' is flat (standard deviation {std:.3g} digital steps)")
    at_limit = float(np.mean((digital <= channel.digital_min) | (digital >= channel.digital_max)))
    if at_limit > SATURATION_FRACTION:
        raise ChannelError(
            f"{path}: channel '{channel.label}' is saturated ({at_limit:.0%} of samples at the "
            f"physical min/max {channel.physical_min:g}/{channel.physical_max:g} {channel.dimension})"
        )
