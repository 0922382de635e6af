"""The generic folder format (:mod:`omnifuse.data.loaders.folder`)."""

from __future__ import annotations

from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders.folder import is_folder_dataset, load_folder
from omnifuse.data.loaders.formats import FORMATS, DatasetFormat


@FORMATS.register
class FolderFormat(DatasetFormat):
    """``labels.csv`` plus one file per modality (the folder reader has no progress bar and
    refuses bad input whether ``strict`` or not)."""

    name = "folder"
    description = "a folder with labels.csv and one file per modality"
    priority = 20

    @classmethod
    def detect(cls, path: Path) -> bool:
        return is_folder_dataset(path)

    @classmethod
    def load(
        cls, path: Path, *, use_cache: bool = True, progress: bool = False, strict: bool = False
    ) -> MultimodalDataset:
        return load_folder(path, use_cache=use_cache)
