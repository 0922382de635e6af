"""The sleep EDF folder format (:mod:`omnifuse.data.sleep.loader`)."""

from __future__ import annotations

from pathlib import Path

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders.formats import FORMATS, DatasetFormat


@FORMATS.register
class SleepEDFFormat(DatasetFormat):
    """PSG ``*.edf`` recordings with their hypnograms and no ``labels.csv`` (optional
    ``sleep.yaml``); the sleep reader refuses bad input whether ``strict`` or not."""

    name = "sleep-edf"
    description = "a folder of PSG .edf files with their hypnograms"
    priority = 30

    @classmethod
    def detect(cls, path: Path) -> bool:
        # deferred: the sleep reader loads pyedflib and scipy (~1.5 s); detecting any other format must not pay for it
        from omnifuse.data.sleep.loader import is_sleep_dir

        return is_sleep_dir(path)

    @classmethod
    def load(
        cls, path: Path, *, use_cache: bool = True, progress: bool = False, strict: bool = False
    ) -> MultimodalDataset:
        from omnifuse.data.sleep.loader import load_sleep  # deferred: as in detect

        return load_sleep(path, use_cache=use_cache, progress=progress)
