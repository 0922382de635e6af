"""Noisy-recording detection (Whitlow et al. 2025 section 4.4, "Handling Noisy Modalities").

The paper's noisy subset of SHHS-1 holds the "patients whose EEG or EOG channels exhibit
anomalously high standard deviation (STD) over long periods (>40% of total recording time)".
Here, per modality:

* the STD of every kept 30 s epoch of the band-passed 100 Hz signal is computed where the
  signal is processed (:mod:`.recording`, cached with the recording);
* the *reference* is the median epoch STD of that modality over all loaded recordings;
* an epoch is *anomalous* when its STD exceeds ``std_factor`` x reference (movement, muscle,
  loose-electrode swings) or falls below reference / :data:`FLAT_RATIO` (a flat channel:
  electrode detachment, which the paper's wording does not name but which is the other
  common way an electrode fails);
* a recording's modality is *noisy* when more than ``fraction`` of its epochs are anomalous.

The reference is relative to the folder, so it needs a folder of mostly clean recordings:
the median stays put while fewer than half of a modality's epochs (over all recordings)
are corrupted. With a single recording the reference is that recording's own median.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: An epoch whose STD is below the reference divided by this is flat (detached electrode).
FLAT_RATIO = 20.0

#: Recording -> modality -> STD of each epoch (band-passed signal, signal units).
EpochStd = Mapping[str, Mapping[str, Sequence[float] | np.ndarray]]


@dataclass(frozen=True)
class ChannelQuality:
    """Anomalous epochs of one modality of one recording."""

    recording: str
    modality: str
    n_epochs: int
    n_high: int
    n_flat: int
    noisy: bool

    @property
    def n_anomalous(self) -> int:
        return self.n_high + self.n_flat

    @property
    def fraction(self) -> float:
        return self.n_anomalous / self.n_epochs if self.n_epochs else 0.0


def references(epoch_std: EpochStd) -> dict[str, float]:
    """Modality -> median epoch STD over every epoch of every recording having it."""
    pooled: dict[str, list[np.ndarray]] = {}
    for per_modality in epoch_std.values():
        for modality, std in per_modality.items():
            pooled.setdefault(modality, []).append(np.asarray(std, dtype=np.float64))
    return {m: float(np.median(np.concatenate(parts))) for m, parts in pooled.items() if sum(map(len, parts))}


def anomalous_epochs(
    std: Sequence[float] | np.ndarray, reference: float, std_factor: float = 3.0
) -> tuple[np.ndarray, np.ndarray]:
    """``(high, flat)`` boolean masks of the epochs above ``std_factor`` x ``reference`` and
    below ``reference / FLAT_RATIO``. Nothing is anomalous when the reference is not positive."""
    std = np.asarray(std, dtype=np.float64)
    if not (np.isfinite(reference) and reference > 0):
        none = np.zeros(len(std), dtype=bool)
        return none, none.copy()
    return std > std_factor * reference, std < reference / FLAT_RATIO


def assess(epoch_std: EpochStd, std_factor: float = 3.0, fraction: float = 0.4) -> list[ChannelQuality]:
    """The quality of every (recording, modality) of ``epoch_std`` (see the module docstring)."""
    refs = references(epoch_std)
    out: list[ChannelQuality] = []
    for recording, per_modality in epoch_std.items():
        for modality, std in per_modality.items():
            high, flat = anomalous_epochs(std, refs.get(modality, 0.0), std_factor)
            n = len(high)
            n_bad = int((high | flat).sum())
            out.append(
                ChannelQuality(recording, modality, n, int(high.sum()), int(flat.sum()), n > 0 and n_bad > fraction * n)
            )
    return out


def noisy_recordings(qualities: Sequence[ChannelQuality]) -> dict[str, list[str]]:
    """Recording -> its noisy modalities (recordings without one are left out)."""
    noisy: dict[str, list[str]] = {}
    for q in qualities:
        if q.noisy:
            noisy.setdefault(q.recording, []).append(q.modality)
    return noisy


def summary(
    qualities: Sequence[ChannelQuality], n_recordings: int, std_factor: float, fraction: float, shown: int = 5
) -> str:
    """One sentence naming up to ``shown`` noisy recordings with their anomalous share."""
    flagged: dict[str, list[str]] = {}
    for q in qualities:
        if q.noisy:
            kind = "flat" if q.n_flat > q.n_high else "high STD"
            flagged.setdefault(q.recording, []).append(f"{q.modality} {q.fraction:.0%} {kind}")
    names = [f"{r} ({', '.join(parts)})" for r, parts in list(flagged.items())[:shown]]
    more = f" and {len(flagged) - shown} more" if len(flagged) > shown else ""
    return (
        f"{len(flagged)} of {n_recordings} recordings have a noisy channel (more than "
        f"{fraction:.0%} of epochs with STD above {std_factor:g}x the median or flat): "
        f"{', '.join(names)}{more}; they are kept"
    )
