"""Read hypnograms (Sleep-EDF EDF+ annotations, NSRR XML) and label 30 s epochs.

Raw stages keep what the scorer wrote (R&K stage 4 separate from stage 3, movement and
unscored epochs); :mod:`omnifuse.data.sleep.stages` consolidates them. Each epoch gets the
stage that covers most of it ("majority vote" over the scored events); an epoch less than
half covered by stage events is unscored.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from omnifuse.data.sleep.edf import open_edf
from omnifuse.errors import DataError

#: Raw stage codes, indexed by the integers stored in :class:`Hypnogram` ``codes``.
RAW_STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED")
W, N1, N2, N3, N4, REM, MOVE, UNSCORED = range(len(RAW_STAGES))

#: Sleep-EDF (R&K) and AASM annotation texts, lower case.
EDF_ANNOTATIONS: dict[str, int] = {
    "sleep stage w": W,
    "sleep stage 1": N1,
    "sleep stage 2": N2,
    "sleep stage 3": N3,
    "sleep stage 4": N4,
    "sleep stage r": REM,
    "sleep stage n1": N1,
    "sleep stage n2": N2,
    "sleep stage n3": N3,
    "sleep stage ?": UNSCORED,
    "movement time": MOVE,
}
#: NSRR ``EventConcept`` codes (the part after ``|``), e.g. "Stage 2 sleep|2".
NSRR_CODES: dict[str, int] = {"0": W, "1": N1, "2": N2, "3": N3, "4": N4, "5": REM, "6": MOVE, "9": UNSCORED}


@dataclass(frozen=True)
class Hypnogram:
    """Scored stage events: onset and duration in seconds from the PSG start, raw stage code."""

    path: Path
    onsets: np.ndarray
    durations: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)


def read_hypnogram(path: str | Path, psg_start: datetime | None = None) -> Hypnogram:
    """Read ``path`` by its suffix: ``.xml`` (NSRR) or ``.edf`` (EDF+ annotations)."""
    path = Path(path)
    if path.suffix.lower() == ".xml":
        return read_nsrr_xml(path)
    return read_edf_hypnogram(path, psg_start)


def read_edf_hypnogram(path: str | Path, psg_start: datetime | None = None) -> Hypnogram:
    """Sleep-EDF ``*-Hypnogram.edf``: EDF+ annotations "Sleep stage W/1/2/3/4/R/?", "Movement time".

    Onsets are shifted by the hypnogram's start time minus ``psg_start`` (0 in Sleep-EDF).
    Annotations that are not stages (e.g. "Lights off") are ignored.
    """
    path = Path(path)
    with open_edf(path) as f:
        onsets, durations, texts = f.readAnnotations()
        start = f.getStartdatetime()
    shift = (start - psg_start).total_seconds() if psg_start is not None else 0.0
    rows = []
    for onset, duration, text in zip(onsets, durations, texts):
        key = " ".join(str(text).split()).lower()
        if key in EDF_ANNOTATIONS:
            rows.append((float(onset) + shift, float(duration), EDF_ANNOTATIONS[key]))
        elif key.startswith("sleep stage"):
            rows.append((float(onset) + shift, float(duration), UNSCORED))
    return _hypnogram(path, rows)


def read_nsrr_xml(path: str | Path) -> Hypnogram:
    """NSRR XML (SHHS ``*-nsrr.xml``): ``ScoredEvent`` with EventType "Stages|Stages"."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError(f"{path}: not a readable XML file ({exc})") from exc
    rows = []
    for event in root.iter("ScoredEvent"):
        kind = (event.findtext("EventType") or "").strip().lower()
        if not kind.startswith("stages"):
            continue
        concept = (event.findtext("EventConcept") or "").strip()
        code = concept.rsplit("|", 1)[-1].strip()
        try:
            onset = float(event.findtext("Start") or "nan")
            duration = float(event.findtext("Duration") or "nan")
        except ValueError as exc:
            raise DataError(f"{path}: stage event '{concept}' has a non-numeric Start/Duration") from exc
        if not math.isfinite(onset):
            raise DataError(f"{path}: stage event '{concept}' has no Start")
        rows.append((onset, duration, NSRR_CODES.get(code, UNSCORED)))
    return _hypnogram(path, rows)


def _hypnogram(path: Path, rows: list[tuple[float, float, int]]) -> Hypnogram:
    if not rows:
        raise DataError(f"{path}: no sleep stage annotations")
    rows.sort(key=lambda r: r[0])
    onsets = np.array([r[0] for r in rows], dtype=np.float64)
    durations = np.array([r[1] for r in rows], dtype=np.float64)
    # an event without a duration lasts until the next one (the last: one 30 s epoch)
    next_onset = np.append(onsets[1:], onsets[-1] + 30.0)
    missing = ~np.isfinite(durations) | (durations <= 0)
    durations[missing] = (next_onset - onsets)[missing]
    return Hypnogram(path, onsets, durations, np.array([r[2] for r in rows], dtype=np.int64))


def epoch_stages(hypnogram: Hypnogram, n_epochs: int, epoch_seconds: float = 30.0) -> np.ndarray:
    """Raw stage code of each of ``n_epochs`` epochs: the stage covering most of the epoch.

    Epochs covered less than half by stage events are :data:`UNSCORED`.
    """
    overlap = np.zeros((n_epochs, len(RAW_STAGES)))
    for onset, duration, code in zip(hypnogram.onsets, hypnogram.durations, hypnogram.codes):
        end = onset + duration
        first, last = max(int(onset // epoch_seconds), 0), min(int(math.ceil(end / epoch_seconds)), n_epochs)
        for e in range(first, last):
            overlap[e, code] += min(end, (e + 1) * epoch_seconds) - max(onset, e * epoch_seconds)
    stages = overlap.argmax(axis=1)
    stages[overlap.sum(axis=1) < epoch_seconds / 2] = UNSCORED
    return stages.astype(np.int64)
