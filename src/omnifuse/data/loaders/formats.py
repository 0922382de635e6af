"""Dataset formats: the layouts on disk that :func:`omnifuse.data.loaders.load_dataset` recognises.

Each format is one :class:`DatasetFormat` subclass in its own module of this package
(``<name>_format.py``), wrapping its reader, registered with ``@FORMATS.register``.
``load_dataset`` tries the registered formats in ``priority`` order (lower first) and loads a
path with the first one whose ``detect`` accepts it.

MIMIC-IV / MIMIC-CXR is not a format: ``omnifuse data mimic`` converts the raw tables into the
folder format (:mod:`omnifuse.data.mimic`), which loads like any other folder dataset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.utils.registry import Registry


class DatasetFormat(ABC):
    """A dataset layout: class metadata plus ``detect`` and ``load`` class methods.

    Subclasses set ``name``, ``description`` (what such a path holds, as the "not a recognised
    dataset" message lists it) and ``priority`` (formats are tried lower first: a layout that
    another format's ``detect`` would also accept needs a lower one).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    priority: ClassVar[int] = 100

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """True when ``path`` (an existing file or folder) is a dataset of this format."""

    @classmethod
    @abstractmethod
    def load(
        cls, path: Path, *, use_cache: bool = True, progress: bool = False, strict: bool = False
    ) -> MultimodalDataset:
        """The dataset at ``path``.

        ``use_cache``: reuse / fill the content-keyed cache; ``progress``: show a progress bar
        where the reader has one; ``strict``: refuse input the reader would otherwise skip
        and report (readers without such input refuse bad input either way).
        """


#: Every dataset format by name, in the order ``load_dataset`` tries them (``priority``).
FORMATS: Registry[type[DatasetFormat]] = Registry(
    "dataset format", packages="omnifuse.data.loaders", order=lambda fmt: fmt.priority
)
