"""`load_sleep`: a folder of PSG EDF files + hypnograms -> a `MultimodalDataset` of 30 s epochs.

Samples are epochs with ids ``"<recording>#<position>"`` (:mod:`omnifuse.data.sleep.epochs`),
groups the recording (or the Sleep-EDF subject with ``group_by="subject"``), labels the five
classes W, N1, N2, N3, REM. Each modality is a "signal" of shape ``(29, 128)``: 29 one-second
STFT frames x 128 frequency bins named ``"0.39Hz"`` ... ``"50.00Hz"``. One bad recording never
stops the folder: it is skipped with a DataWarning naming its file and the reason, and listed
in ``info["skipped"]``. Each recording is cached on its own (file contents + settings).
``info["epochs"]`` counts, per recording, the 30 s epochs the signals cover (``grid``), those
dropped as movement or unscored (incl. hypnogram ``Sleep stage ?``), the edge wake trimmed
and those kept; ``info["channels"]`` names the channel picked for each modality.

Noisy recordings (Whitlow et al. 2025 section 4.4, :mod:`omnifuse.data.sleep.quality`) are kept and
listed in ``info["noisy"]`` (recording -> noisy modalities); unless ``mark_noisy`` is off,
``splits`` is "noisy" for every epoch of such a recording and "clean" for the others.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from omnifuse.data.cache import cached, content_key
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.labels import Labels
from omnifuse.data.sleep.config import (
    CONFIG_FILE, DEFAULT_CHANNELS, GroupBy, MissingChannel, SleepSettings, check_band, check_noisy, read_sleep_config,
)  # fmt: skip
from omnifuse.data.sleep.pairing import Recording, pair_recordings, psg_files, subject_of
from omnifuse.data.sleep.quality import assess, noisy_recordings, summary
from omnifuse.data.sleep.recording import RecordingOptions, build_recording, signal_spec
from omnifuse.data.sleep.stages import STAGES
from omnifuse.errors import ConfigError, DataError, DataWarning
from omnifuse.utils.progress import track

SOURCE = "sleep-edf"
LOADER_VERSION = "sleep-3"  # sleep-2: per-epoch STD in info["epoch_std"]; sleep-3: info["epochs"]
MISSING_CHANNEL = ("error", "absent")
GROUP_BY = ("recording", "subject")


def is_sleep_dir(path: Path) -> bool:
    """True for a folder holding PSG ``*.edf`` files and no ``labels.csv``."""
    path = Path(path)
    return path.is_dir() and not (path / "labels.csv").exists() and bool(psg_files(path))


def load_sleep(
    directory: str | Path,
    modalities: Mapping[str, Sequence[str]] | None = None,
    require_all_stages: bool | None = None,
    min_epochs: int | None = None,
    missing_channel: MissingChannel | None = None,
    bands: Mapping[str, tuple[float, float]] | None = None,
    group_by: GroupBy | None = None,
    noisy_std_factor: float | None = None,
    noisy_fraction: float | None = None,
    mark_noisy: bool | None = None,
    use_cache: bool = True,
    progress: bool = False,
) -> MultimodalDataset:
    """Load every recording of ``directory`` (see the module docstring).

    Args:
        modalities: modality name -> acceptable channel labels (first match wins);
            default :data:`~omnifuse.data.sleep.config.DEFAULT_CHANNELS` (eeg, eog).
        require_all_stages: skip recordings lacking one of the five classes (default True).
        min_epochs: skip recordings with fewer epochs after preprocessing (default 21).
        missing_channel: "error" (default) skips a recording whose channel is missing or
            unusable (flat, saturated); "absent" keeps it with that modality absent.
        bands: band-pass edges per modality (default 0.3-40 Hz EEG, 0.3-23 Hz EOG).
        group_by: "recording" (default) or "subject" (Sleep-EDF names: two nights, one subject).
        noisy_std_factor: an epoch is anomalous when its band-passed STD exceeds this many
            times the modality's median epoch STD over the folder (default 3.0), or is below
            1/20 of it (flat).
        noisy_fraction: a recording's modality is noisy when more than this fraction of its
            epochs is anomalous (default 0.4).
        mark_noisy: set ``splits`` to "noisy" / "clean" per recording (default True).
        use_cache: reuse per-recording results keyed by file contents and settings.
        progress: show a progress bar over the recordings.

    Arguments left as None come from ``sleep.yaml`` in the folder, else the defaults.
    Raises DataError when no recording loads (listing why each failed).
    """
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (expected a folder of PSG .edf files)")
    config = read_sleep_config(root)
    mods = dict(modalities or config.modalities or DEFAULT_CHANNELS)
    policy = _choice("missing_channel", missing_channel or config.missing_channel or "error", MISSING_CHANNEL)
    grouping = _choice("group_by", group_by or config.group_by or "recording", GROUP_BY)
    merged_bands = {**SleepSettings().bands, **(config.bands or {}), **(bands or {})}
    for name, band in merged_bands.items():
        try:
            check_band(name, band)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    std_factor = float(_first(noisy_std_factor, config.noisy_std_factor, SleepSettings.noisy_std_factor))
    fraction = float(_first(noisy_fraction, config.noisy_fraction, SleepSettings.noisy_fraction))
    try:
        check_noisy(std_factor, fraction)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    options = RecordingOptions(
        modalities={m: list(a) for m, a in mods.items()},
        settings=SleepSettings(
            bands={
                k: (v[0], v[1]) for k, v in merged_bands.items()
            },  # check_band made each a pair noisy_std_factor=std_factor, noisy_fraction=fraction
        ),
        require_all_stages=_first(require_all_stages, config.require_all_stages, True),
        min_epochs=int(_first(min_epochs, config.min_epochs, 21)),
        missing_channel=policy,  # type: ignore[arg-type]
    )
    recordings, unpaired = pair_recordings(root)
    skipped: dict[str, str] = {}
    for psg in unpaired:
        _skip(skipped, psg, f"{psg}: no hypnogram (looked for {psg.stem}-Hypnogram.edf, {psg.stem}.xml, "
              f"{psg.stem}-nsrr.xml or a Sleep-EDF *-Hypnogram.edf with the same first 6 characters)")  # fmt: skip
    parts: list[MultimodalDataset] = []
    seen: set[str] = set()
    for rec in track(recordings, "preprocessing recordings", total=len(recordings), enabled=progress):
        if rec.name in seen:
            _skip(skipped, rec.psg, f"{rec.psg}: recording name '{rec.name}' is used by another file")
            continue
        try:
            part = _load_one(rec, options, use_cache)
        except DataError as exc:
            _skip(skipped, rec.psg, str(exc))
            continue
        seen.add(rec.name)
        parts.append(part)
    if not parts:
        reasons = "; ".join(skipped.values()) or f"no PSG .edf file in {root}"
        raise DataError(f"{root}: no sleep recording could be loaded ({reasons})")
    found = [m for m in mods if any(m in p.specs for p in parts)]
    for m in mods:
        if m not in found:
            warnings.warn(
                f"{root}: modality '{m}' has no usable channel in any recording; dropped", DataWarning, stacklevel=2
            )
    qualities = assess({_name(p): p.info.get("epoch_std", {}) for p in parts}, std_factor, fraction)
    noisy = noisy_recordings(qualities)
    marking = bool(_first(mark_noisy, config.mark_noisy, True))
    if noisy:
        where = " in split 'noisy' (the others in 'clean')" if marking else ""
        warnings.warn(summary(qualities, len(parts), std_factor, fraction) + where, DataWarning, stacklevel=2)
    splits = None
    if marking:
        splits = np.concatenate([np.full(len(p), "noisy" if _name(p) in noisy else "clean") for p in parts])
    ds = _concatenate(parts, found, options.settings, grouping, splits)
    epochs = {_name(p): dict(p.info.get("epochs", {})) for p in parts}
    ds.info.update(
        {
            "source": SOURCE,
            "path": str(root),
            "recordings": len(parts),
            "skipped": skipped,
            "noisy": noisy,
            "epochs": epochs,
        }
    )
    if (root / CONFIG_FILE).exists():
        ds.info["config"] = str(root / CONFIG_FILE)
    return ds


def _load_one(rec: Recording, options: RecordingOptions, use_cache: bool) -> MultimodalDataset:
    if not use_cache:
        return build_recording(rec, options)
    key = content_key([rec.psg, rec.hypnogram], LOADER_VERSION, options.key(), rec.name, str(rec.psg.resolve()))
    return cached(SOURCE, key, lambda: build_recording(rec, options))


def _skip(skipped: dict[str, str], psg: Path, reason: str) -> None:
    skipped[psg.name] = reason
    warnings.warn(f"{reason}; recording skipped", DataWarning, stacklevel=3)


def _name(part: MultimodalDataset) -> str:
    return str(part.info.get("recording", part.groups[0]))


def _concatenate(
    parts: list[MultimodalDataset],
    modalities: list[str],
    settings: SleepSettings,
    grouping: str,
    splits: np.ndarray | None = None,
) -> MultimodalDataset:
    """Stack per-recording datasets; a modality missing from a recording is absent (NaN rows)."""
    n = sum(len(p) for p in parts)
    shape = (settings.n_frames, settings.n_bins)
    data = {m: np.full((n, *shape), np.nan, dtype=np.float32) for m in modalities}
    mask = {m: np.zeros(n, dtype=bool) for m in modalities}
    channels: dict[str, dict[str, str]] = {}
    row = 0
    for part in parts:
        rows = slice(row, row + len(part))
        for m in part.modalities:
            values = part.data[m]
            if not isinstance(values, np.ndarray):
                raise DataError(f"{_name(part)}: modality '{m}' is not an array of epochs")
            data[m][rows] = values
            mask[m][rows] = True
        channels[_name(part)] = dict(part.info.get("channels", {}))
        row += len(part)
    ids = np.concatenate([p.sample_ids for p in parts])
    groups = np.concatenate([p.groups for p in parts])
    if grouping == "subject":
        groups = np.array([subject_of(g) for g in groups])
    used = {m: [c[m] for c in channels.values() if m in c] for m in modalities}
    return MultimodalDataset(
        specs=[signal_spec(m, settings, used[m]) for m in modalities],
        data=data,
        mask=mask,
        labels=Labels("multiclass", np.concatenate([p.labels.y for p in parts]), STAGES),
        sample_ids=ids,
        groups=groups,
        splits=splits,
        info={"channels": channels},
    )


_T = TypeVar("_T")


def _first(*values: _T | None) -> _T:
    return next(v for v in values if v is not None)


def _choice(what: str, value: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ConfigError(f"{what} must be one of {', '.join(valid)}, got '{value}'")
    return value
