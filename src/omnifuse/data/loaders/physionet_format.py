"""The PhysioNet/CinC 2012 format (:mod:`omnifuse.data.loaders.physionet`)."""

from __future__ import annotations

from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders.formats import FORMATS, DatasetFormat
from omnifuse.data.loaders.physionet import is_physionet_dir, load_physionet2012


@FORMATS.register
class PhysioNet2012Format(DatasetFormat):
    """``Outcomes-X.txt`` with ``set-X/`` folders or ``set-X.tar.gz`` archives."""

    name = "physionet2012"
    description = "a PhysioNet 2012 folder with Outcomes-X.txt and set-X/ or set-X.tar.gz"
    priority = 10

    @classmethod
    def detect(cls, path: Path) -> bool:
        return is_physionet_dir(path)

    @classmethod
    def load(
        cls, path: Path, *, use_cache: bool = True, progress: bool = False, strict: bool = False
    ) -> MultimodalDataset:
        return load_physionet2012(path, use_cache=use_cache, progress=progress, strict=strict)
