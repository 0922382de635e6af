"""Dataset loaders; :func:`load_dataset` detects the format of a path.

Formats are the registered :class:`~omnifuse.data.loaders.formats.DatasetFormat` classes
(one ``<name>_format.py`` module each), tried in ``priority`` order: PhysioNet/CinC 2012
(``Outcomes-X.txt`` + ``set-X/`` or ``set-X.tar.gz``), the generic folder format
(``labels.csv`` + one file per modality), a sleep folder (PSG ``*.edf`` files with
hypnograms and no ``labels.csv``; optional ``sleep.yaml``).
"""

from __future__ import annotations

from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders.folder import load_folder
from omnifuse.data.loaders.folder_write import write_folder
from omnifuse.data.loaders.formats import FORMATS, DatasetFormat
from omnifuse.errors import DataError


def load_dataset(
    path: str | Path, use_cache: bool = True, progress: bool = False, strict: bool = False
) -> MultimodalDataset:
    """Load a dataset from ``path`` with the first registered format that detects it.

    ``strict``: refuse a PhysioNet 2012 stay line that cannot be used (by default it is skipped,
    counted and reported once); the other formats refuse bad input either way.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    formats = FORMATS.all()
    for fmt in formats:
        if fmt.detect(p):
            return fmt.load(p, use_cache=use_cache, progress=progress, strict=strict)
    expected = [fmt.description for fmt in formats]
    listed = ", ".join(expected[:-1]) + (", or " if len(expected) > 1 else "") + expected[-1]
    raise DataError(f"{p}: not a recognised dataset (expected {listed})")


__all__ = ["FORMATS", "DatasetFormat", "load_dataset", "load_folder", "write_folder"]
