"""Dataset loaders; :func:`load_dataset` detects the format of a path.

Formats, tried in order: PhysioNet/CinC 2012 (``Outcomes-X.txt`` + ``set-X/`` or
``set-X.tar.gz``), the generic folder format (``labels.csv`` + one file per modality), a sleep
folder (PSG ``*.edf`` files with hypnograms and no ``labels.csv``; optional ``sleep.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders.folder import is_folder_dataset, load_folder
from omnifuse.data.loaders.folder_write import write_folder
from omnifuse.errors import DataError


def _physionet() -> tuple[Callable[[Path], bool], Callable[..., MultimodalDataset]]:
    from omnifuse.data.loaders import physionet

    return physionet.is_physionet_dir, physionet.load_physionet2012


def load_dataset(
    path: str | Path, use_cache: bool = True, progress: bool = False, strict: bool = False
) -> MultimodalDataset:
    """Load a dataset from ``path``, detecting its format.

    ``strict``: refuse a PhysioNet 2012 stay line that cannot be used (by default it is skipped,
    counted and reported once); the other formats refuse bad input either way.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"{p}: no such file or directory")
    is_physionet, load_physionet = _physionet()
    if is_physionet(p):
        return load_physionet(p, use_cache=use_cache, progress=progress, strict=strict)
    if is_folder_dataset(p):
        return load_folder(p, use_cache=use_cache)
    from omnifuse.data.sleep.loader import is_sleep_dir, load_sleep

    if is_sleep_dir(p):
        return load_sleep(p, use_cache=use_cache, progress=progress)
    raise DataError(
        f"{p}: not a recognised dataset (expected a folder with labels.csv and one file per "
        "modality, a PhysioNet 2012 folder with Outcomes-X.txt and set-X/ or set-X.tar.gz, or a "
        "folder of PSG .edf files with their hypnograms)"
    )


__all__ = ["load_dataset", "load_folder", "write_folder"]
