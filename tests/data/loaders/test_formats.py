"""The dataset-format contract, checked for every registered format: it detects a small
sample of its own, no format tried before it claims that sample, ``load_dataset`` and the
format's own ``load`` give the same dataset, and nothing is detected in an unrelated path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders import FORMATS, DatasetFormat, load_dataset, write_folder
from omnifuse.data.simulate import make_lowquality
from omnifuse.errors import DataError


def physionet_sample(root: Path) -> Path:
    from tests.data.test_physionet import make_dir

    return make_dir(root / "physionet")


def folder_sample(root: Path) -> Path:
    ds, _ = make_lowquality(2, n_samples=24, seed=0)
    return write_folder(ds, root / "folder")


def sleep_sample(root: Path) -> Path:
    from tests.data.sleep.conftest import NIGHT, write_night

    (root / "nights").mkdir()
    write_night(root / "nights", "SC4001E0", NIGHT)
    return root / "nights"


#: Writes a small dataset of each format under a folder and returns its path. Every
#: registered format needs an entry (tests/test_completeness.py checks it).
SAMPLES: dict[str, Callable[[Path], Path]] = {
    "physionet2012": physionet_sample,
    "folder": folder_sample,
    "sleep-edf": sleep_sample,
}


def first_detecting(path: Path) -> str | None:
    return next((fmt.name for fmt in FORMATS.all() if fmt.detect(path)), None)


def test_declarations() -> None:
    priorities = [fmt.priority for fmt in FORMATS.all()]
    assert priorities == sorted(priorities)
    for name, fmt in FORMATS.items():
        assert issubclass(fmt, DatasetFormat) and fmt.name == name
        assert fmt.description and fmt.__doc__


def test_order_physionet_then_folder_then_sleep() -> None:
    names = FORMATS.names()
    assert names.index("physionet2012") < names.index("folder") < names.index("sleep-edf")


@pytest.mark.parametrize("name", FORMATS.names())
def test_detects_and_loads_its_sample(name: str, tmp_path: Path) -> None:
    fmt = FORMATS.get(name)
    sample = SAMPLES[name](tmp_path)
    assert fmt.detect(sample)
    assert first_detecting(sample) == name  # load_dataset routes it here
    via_load_dataset = load_dataset(sample, use_cache=False)
    direct = fmt.load(sample, use_cache=False, progress=False, strict=False)
    for ds in (via_load_dataset, direct):
        assert isinstance(ds, MultimodalDataset) and len(ds) > 0
    np.testing.assert_array_equal(via_load_dataset.sample_ids, direct.sample_ids)
    assert via_load_dataset.modalities == direct.modalities


@pytest.mark.parametrize("name", FORMATS.names())
def test_nothing_detected_in_unrelated_paths(name: str, tmp_path: Path) -> None:
    fmt = FORMATS.get(name)
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").write_text("hello\n")
    assert not fmt.detect(tmp_path / "empty")
    assert not fmt.detect(tmp_path / "notes.txt")


def test_unrecognised_path_lists_every_format(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a recognised dataset") as info:
        load_dataset(tmp_path)
    for fmt in FORMATS.all():
        assert fmt.description in str(info.value)
