"""Write PSG EDF+ files and Sleep-EDF-style hypnograms (EDF+ annotations) with pyedflib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyedflib

from omnifuse.data.sleep.hypnogram import RAW_STAGES
from omnifuse.errors import DataError

DEFAULT_START = datetime(1989, 4, 24, 16, 13, 0)
#: Raw stage -> Sleep-EDF annotation text.
STAGE_TEXT: dict[str, str] = {
    "W": "Sleep stage W", "N1": "Sleep stage 1", "N2": "Sleep stage 2", "N3": "Sleep stage 3",
    "N4": "Sleep stage 4", "REM": "Sleep stage R", "MOVE": "Movement time", "UNSCORED": "Sleep stage ?",
}  # fmt: skip


@dataclass(frozen=True)
class SignalChannel:
    """One channel to write: samples (physical units), rate and physical range."""

    samples: np.ndarray
    sampling_rate: int
    physical_min: float = -500.0
    physical_max: float = 500.0
    dimension: str = "uV"


def write_psg(path: str | Path, channels: Mapping[str, SignalChannel], start: datetime = DEFAULT_START) -> Path:
    """Write ``channels`` (label -> channel) as an EDF+ file with 1 s data records.

    Every channel must cover the same whole number of seconds; values outside the
    physical range are clipped (that is what a saturated amplifier does).
    """
    path = Path(path)
    seconds = {len(c.samples) / c.sampling_rate for c in channels.values()}
    if len(seconds) != 1 or not float(next(iter(seconds))).is_integer():
        raise DataError(f"{path}: channels must cover the same whole number of seconds, got {sorted(seconds)}")
    writer = pyedflib.EdfWriter(str(path), len(channels), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setStartdatetime(start)
        writer.setSignalHeaders([
            {
                "label": label, "dimension": c.dimension, "sample_frequency": int(c.sampling_rate),
                "physical_min": c.physical_min, "physical_max": c.physical_max,
                "digital_min": -32768, "digital_max": 32767, "transducer": "", "prefilter": "",
            }
            for label, c in channels.items()
        ])  # fmt: skip
        writer.writeSamples(
            [np.clip(c.samples, c.physical_min, c.physical_max).astype(np.float64) for c in channels.values()]
        )
    finally:
        writer.close()
    return path


def stage_runs(stages: Sequence[str], epoch_seconds: float = 30.0) -> list[tuple[float, float, str]]:
    """``(onset, duration, stage)`` of each run of equal consecutive stages."""
    runs: list[tuple[float, float, str]] = []
    for k, stage in enumerate(stages):
        if runs and runs[-1][2] == stage:
            onset, duration, _ = runs[-1]
            runs[-1] = (onset, duration + epoch_seconds, stage)
        else:
            runs.append((k * epoch_seconds, epoch_seconds, stage))
    return runs


def write_hypnogram(
    path: str | Path, stages: Sequence[str], epoch_seconds: float = 30.0, start: datetime = DEFAULT_START
) -> Path:
    """Write raw stages (:data:`RAW_STAGES` names) as Sleep-EDF EDF+ annotations, one per run."""
    path = Path(path)
    unknown = sorted(set(stages) - set(RAW_STAGES))
    if unknown:
        raise DataError(f"unknown stage(s) {unknown} (valid: {', '.join(RAW_STAGES)})")
    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setStartdatetime(start)
        for onset, duration, stage in stage_runs(stages, epoch_seconds):
            writer.writeAnnotation(onset, duration, STAGE_TEXT[stage])
    finally:
        writer.close()
    return path


def write_nsrr_xml(path: str | Path, stages: Sequence[str], epoch_seconds: float = 30.0) -> Path:
    """Write raw stages as an NSRR XML (SHHS ``*-nsrr.xml``), one ScoredEvent per run."""
    concepts = {"W": "Wake|0", "N1": "Stage 1 sleep|1", "N2": "Stage 2 sleep|2", "N3": "Stage 3 sleep|3",
                "N4": "Stage 4 sleep|4", "REM": "REM sleep|5", "MOVE": "Movement|6", "UNSCORED": "Unscored|9"}  # fmt: skip
    events = "".join(
        f"<ScoredEvent><EventType>Stages|Stages</EventType><EventConcept>{concepts[s]}</EventConcept>"
        f"<Start>{onset:g}</Start><Duration>{duration:.1f}</Duration></ScoredEvent>\n"
        for onset, duration, s in stage_runs(stages, epoch_seconds)
    )
    text = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n<PSGAnnotation>\n'
        f"<SoftwareVersion>Compumedics</SoftwareVersion><EpochLength>{epoch_seconds:g}</EpochLength>\n"
        "<ScoredEvents>\n<ScoredEvent><EventType/><EventConcept>Recording Start Time</EventConcept>"
        f"<Start>0</Start><Duration>{len(stages) * epoch_seconds:.1f}</Duration></ScoredEvent>\n"
        f"{events}</ScoredEvents>\n</PSGAnnotation>\n"
    )
    Path(path).write_text(text)
    return Path(path)
