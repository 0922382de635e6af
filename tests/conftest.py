"""Shared fixtures: a small hand-made cohort, the real data folders, an isolated cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnifuse.data import IrregularSeries, Labels, ModalitySpec, MultimodalDataset

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test caches into its own temporary folder, never the user's cache."""
    root = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("OMNIFUSE_CACHE", str(root))
    return root


def shared_dataset(name: str) -> Path:
    """Path of a folder in ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
def tiny() -> MultimodalDataset:
    """Six samples, three modalities (dense, dense, irregular series), with absences.

    sample:   s0  s1  s2  s3  s4  s5
    clin:     +   +   -   +   +   +
    omics:    +   -   +   +   -   +
    vitals:   +   +   +   -   +   -
    """
    clin = np.arange(12, dtype=np.float32).reshape(6, 2)
    clin[2] = np.nan
    clin[4, 1] = np.nan  # an unobserved value inside a present row
    omics = np.linspace(-1, 1, 18, dtype=np.float32).reshape(6, 3)
    omics[[1, 4]] = np.nan
    values = np.full((6, 3, 2), np.nan, dtype=np.float32)
    times = np.full((6, 3), np.nan, dtype=np.float32)
    lengths = np.array([3, 1, 2, 0, 2, 0])
    for i, n in enumerate(lengths):
        times[i, :n] = np.arange(n) * 1.5
        values[i, :n, 0] = 60 + i + np.arange(n)
    values[0, 1, 1] = 7.0
    mask = {
        "clin": np.array([1, 1, 0, 1, 1, 1], bool),
        "omics": np.array([1, 0, 1, 1, 0, 1], bool),
        "vitals": lengths > 0,
    }
    return MultimodalDataset(
        specs=[
            ModalitySpec("omics", "omics", ("g1", "g2", "g3"), (3,)),
            ModalitySpec("clin", "tabular", ("age", "bmi"), (2,)),
            ModalitySpec("vitals", "timeseries", ("HR", "Temp"), (3, 2), time_unit="hours"),
        ],
        data={"clin": clin, "omics": omics, "vitals": IrregularSeries(values, times, lengths)},
        mask=mask,
        labels=Labels("binary", np.array([0, 1, 0, 1, 0, 1]), ("neg", "pos")),
        sample_ids=[f"s{i}" for i in range(6)],
        groups=["p0", "p0", "p1", "p2", "p3", "p3"],
    )
