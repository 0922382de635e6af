"""Settings of the sleep data path: channel aliases, filter bands, preprocessing, ``sleep.yaml``.

``sleep.yaml`` (optional, in the recordings folder) may set any field of :class:`SleepConfig`::

    modalities:                 # modality name -> acceptable channel labels, first match wins
      eeg: ["EEG Fpz-Cz", "EEG"]
      eog: ["EOG horizontal", "EOG(L)"]
    require_all_stages: true    # skip recordings lacking one of W, N1, N2, N3, REM
    min_epochs: 21              # skip recordings shorter than this after preprocessing
    missing_channel: error      # or "absent": a missing/unusable channel makes the modality absent
    bands: {eeg: [0.3, 40], eog: [0.3, 23]}
    group_by: recording         # or "subject" (Sleep-EDF: SC4ssN -> subject SC4ss)
    noisy_std_factor: 3.0       # epoch anomalous: STD > 3x the folder's median epoch STD, or flat
    noisy_fraction: 0.4         # channel noisy: more than 40% of its epochs anomalous
    mark_noisy: true            # splits "noisy" / "clean" per recording (false: no splits)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, field_validator

from omnifuse.data.yaml_config import read_yaml_model

CONFIG_FILE = "sleep.yaml"

#: Sleep-EDF (PhysioNet sleep-edfx) channel labels.
SLEEP_EDF_CHANNELS: dict[str, list[str]] = {"eeg": ["EEG Fpz-Cz"], "eog": ["EOG horizontal"]}
#: SHHS (NSRR) channel labels: "EEG" is C4-A1, "EOG(L)" the left EOG.
SHHS_CHANNELS: dict[str, list[str]] = {"eeg": ["EEG", "EEG C4-A1", "C4-A1"], "eog": ["EOG(L)", "EOG L"]}
#: Default aliases: Sleep-EDF first, then the common PSG montages (first match wins).
DEFAULT_CHANNELS: dict[str, list[str]] = {
    "eeg": ["EEG Fpz-Cz", "EEG C4-A1", "EEG C4-M1", "EEG", "C4-A1", "C4-M1"],
    "eog": ["EOG horizontal", "EOG L-R", "EOG(L)", "EOG ROC-LOC", "EOG", "EOG L", "E1-M2"],
}
#: Band-pass edges (Hz) per modality; a modality not listed uses the entry whose key starts
#: its name ("eeg2" -> "eeg"), else ``"default"``.
DEFAULT_BANDS: dict[str, tuple[float, float]] = {
    "eeg": (0.3, 40.0),
    "eog": (0.3, 23.0),
    "default": (0.3, 40.0),
}

#: Settings applied after the per-recording (cached) step: not part of the cache key.
_NOT_KEYED = ("noisy_std_factor", "noisy_fraction")

MissingChannel = Literal["error", "absent"]
GroupBy = Literal["recording", "subject"]


@dataclass(frozen=True)
class SleepSettings:
    """Signal preprocessing of MedFuseSleep (Whitlow et al. 2025) section 3.1 (numbers, not labels).

    Attributes:
        sampling_rate: every channel is resampled to this rate (Hz).
        epoch_seconds: length of one scored epoch.
        window: STFT window length in samples (2 s Hamming at 100 Hz).
        hop: STFT stride in samples (1 s).
        nfft: FFT length; ``nfft // 2`` bins are kept (the DC bin is dropped).
        fir_numtaps: length of the band-pass FIR (odd; 1101 = 3.3 / 0.3 Hz transition at 100 Hz).
        log_eps: added to the STFT magnitude before the log (signal units, µV when known).
        bands: band-pass edges per modality (see :data:`DEFAULT_BANDS`).
        noisy_std_factor: an epoch is anomalous when the STD of its band-passed signal exceeds
            this multiple of the modality's median epoch STD (:mod:`.quality`).
        noisy_fraction: a recording's modality is noisy when more than this fraction of its
            epochs is anomalous (Whitlow et al. 2025 section 4.4: "> 40% of total recording time").

    The two ``noisy_*`` thresholds are applied to the whole folder after loading, so they are
    not part of :meth:`key` (changing them reuses the cached recordings).
    """

    sampling_rate: float = 100.0
    epoch_seconds: float = 30.0
    window: int = 200
    hop: int = 100
    nfft: int = 256
    fir_numtaps: int = 1101
    log_eps: float = 1e-3
    bands: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_BANDS))
    noisy_std_factor: float = 3.0
    noisy_fraction: float = 0.4

    @property
    def epoch_samples(self) -> int:
        return int(round(self.sampling_rate * self.epoch_seconds))

    @property
    def n_frames(self) -> int:
        return (self.epoch_samples - self.window) // self.hop + 1

    @property
    def n_bins(self) -> int:
        return self.nfft // 2

    def band(self, modality: str) -> tuple[float, float]:
        """Band-pass edges of ``modality`` (exact key, else a key prefixing the name, else default)."""
        name = modality.lower()
        if name in self.bands:
            return tuple(self.bands[name])  # type: ignore[return-value]
        for key, band in self.bands.items():
            if key != "default" and name.startswith(key):
                return tuple(band)  # type: ignore[return-value]
        return tuple(self.bands.get("default", DEFAULT_BANDS["default"]))  # type: ignore[return-value]

    def key(self) -> str:
        """Stable text of all settings (part of the cache key)."""
        d = asdict(self)
        for name in _NOT_KEYED:
            d.pop(name)
        d["bands"] = {k: list(v) for k, v in sorted(dict(self.bands).items())}
        return json.dumps(d, sort_keys=True)


class SleepConfig(BaseModel):
    """Contents of ``sleep.yaml``; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    modalities: Optional[dict[str, list[str]]] = None
    require_all_stages: Optional[bool] = None
    min_epochs: Optional[int] = None
    missing_channel: Optional[MissingChannel] = None
    bands: Optional[dict[str, tuple[float, float]]] = None
    group_by: Optional[GroupBy] = None
    noisy_std_factor: Optional[float] = None
    noisy_fraction: Optional[float] = None
    mark_noisy: Optional[bool] = None

    @field_validator("modalities")
    @classmethod
    def _non_empty(cls, value: Optional[dict[str, list[str]]]) -> Optional[dict[str, list[str]]]:
        if value is not None:
            if not value:
                raise ValueError("at least one modality is needed")
            for name, aliases in value.items():
                if not aliases:
                    raise ValueError(f"modality '{name}' lists no channel label")
        return value

    @field_validator("noisy_std_factor")
    @classmethod
    def _valid_factor(cls, value: Optional[float]) -> Optional[float]:
        if value is not None:
            check_noisy(value, 0.0)
        return value

    @field_validator("noisy_fraction")
    @classmethod
    def _valid_fraction(cls, value: Optional[float]) -> Optional[float]:
        if value is not None:
            check_noisy(2.0, value)
        return value

    @field_validator("bands")
    @classmethod
    def _valid_bands(cls, value: Optional[dict[str, tuple[float, float]]]) -> Optional[dict[str, tuple[float, float]]]:
        for name, (low, high) in (value or {}).items():
            check_band(name, (low, high))
        return value


def check_noisy(std_factor: float, fraction: float) -> None:
    """Raise ValueError unless ``std_factor > 1`` and ``0 <= fraction < 1``."""
    if not std_factor > 1:
        raise ValueError(f"noisy_std_factor must be greater than 1, got {std_factor}")
    if not 0 <= fraction < 1:
        raise ValueError(f"noisy_fraction must be in [0, 1), got {fraction}")


def check_band(name: str, band: Sequence[float]) -> None:
    """Raise ValueError unless ``band`` is ``(low, high)`` with ``0 < low < high``."""
    if len(band) != 2 or not 0 < band[0] < band[1]:
        raise ValueError(f"band of '{name}' must be [low, high] Hz with 0 < low < high, got {list(band)}")


def read_sleep_config(folder: Path) -> SleepConfig:
    """Parse ``folder/sleep.yaml`` if present (an empty config otherwise)."""
    return read_yaml_model(Path(folder) / CONFIG_FILE, SleepConfig)
