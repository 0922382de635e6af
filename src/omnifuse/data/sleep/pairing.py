"""Find the PSG recordings of a folder and the hypnogram of each.

Pairing rules, tried in order for a PSG ``<stem>.edf``:

1. ``<stem>-Hypnogram.edf``, ``<stem>.xml``, ``<stem>-nsrr.xml``;
2. when the stem ends with ``-PSG`` (Sleep-EDF), the same with ``<base>`` = stem minus ``-PSG``;
3. Sleep-EDF: the one ``*-Hypnogram.edf`` sharing the first 6 characters
   (``SC4001E0-PSG.edf`` <-> ``SC4001EC-Hypnogram.edf``).

Every ``*.edf`` that is not a ``*-Hypnogram.edf`` is a PSG. File names match case-insensitively.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HYPNOGRAM_TAG = "-hypnogram"
PSG_TAG = "-psg"
SLEEP_EDF_PREFIX = 6
_SLEEP_EDF_SUBJECT = re.compile(r"^(S[CT]\d\d\d)\d", re.IGNORECASE)


@dataclass(frozen=True)
class Recording:
    """One night: its name (used in sample ids), PSG file and hypnogram file."""

    name: str
    psg: Path
    hypnogram: Path


def recording_name(psg: Path) -> str:
    """``SC4001E0-PSG.edf`` -> ``SC4001E0``; ``shhs1-200001.edf`` -> ``shhs1-200001``."""
    stem = psg.stem
    return stem[: -len(PSG_TAG)] if stem.lower().endswith(PSG_TAG) else stem


def subject_of(recording: str) -> str:
    """Subject of a Sleep-EDF recording (``SC4001E0`` -> ``SC400``); other names are their own subject."""
    match = _SLEEP_EDF_SUBJECT.match(recording)
    return match[1] if match else recording


def is_hypnogram_file(path: Path) -> bool:
    return path.suffix.lower() == ".edf" and path.stem.lower().endswith(HYPNOGRAM_TAG)


def psg_files(folder: Path) -> list[Path]:
    """The PSG ``*.edf`` files of ``folder`` (not hypnograms, not hidden), sorted."""
    return sorted(
        p for p in Path(folder).iterdir()
        if p.suffix.lower() == ".edf" and p.is_file() and not p.name.startswith(".") and not is_hypnogram_file(p)
    )  # fmt: skip


def find_hypnogram(psg: Path, files: dict[str, Path]) -> Path | None:
    """The hypnogram of ``psg`` among ``files`` (lower-case name -> path), or None."""
    stems = [psg.stem]
    if psg.stem.lower().endswith(PSG_TAG):
        stems.append(recording_name(psg))
    for stem in stems:
        for suffix in ("-Hypnogram.edf", ".xml", "-nsrr.xml"):
            found = files.get((stem + suffix).lower())
            if found is not None:
                return found
    prefix = psg.name[:SLEEP_EDF_PREFIX].lower()
    if len(psg.stem) > SLEEP_EDF_PREFIX:
        candidates = [p for name, p in files.items() if name.startswith(prefix) and is_hypnogram_file(p)]
        if len(candidates) == 1:
            return candidates[0]
    return None


def pair_recordings(folder: Path) -> tuple[list[Recording], list[Path]]:
    """Recordings with a hypnogram, and the PSG files without one."""
    folder = Path(folder)
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    pairs, unpaired = [], []
    for psg in psg_files(folder):
        hypnogram = find_hypnogram(psg, files)
        if hypnogram is None:
            unpaired.append(psg)
        else:
            pairs.append(Recording(recording_name(psg), psg, hypnogram))
    return pairs, unpaired
