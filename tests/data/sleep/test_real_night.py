"""The real Sleep-EDF night SC4001 (../shared/data/sleep_edf) through `omnifuse data inspect`.

The expected stage counts are computed here from the hypnogram's EDF+ annotations with
pyedflib alone: R&K stages on the 30 s grid the PSG covers, S3+S4 -> N3, movement and
unscored epochs dropped, then the edge-wake trimming rule of omnifuse.data.sleep.stages.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyedflib
import pytest

from tests.conftest import shared_dataset
from tests.cli.test_app import run

PSG, HYPNOGRAM = "SC4001E0-PSG.edf", "SC4001EC-Hypnogram.edf"
CLASSES = ("W", "N1", "N2", "N3", "REM")
RK = {"Sleep stage W": "W", "Sleep stage 1": "N1", "Sleep stage 2": "N2", "Sleep stage 3": "N3",
      "Sleep stage 4": "N3", "Sleep stage R": "REM"}  # fmt: skip


def expected_stages(folder: Path) -> tuple[list[str], int]:
    """Per-epoch class after consolidation and edge-wake trimming, and the grid length."""
    with pyedflib.EdfReader(str(folder / PSG)) as psg:
        n_grid = int(psg.file_duration // 30)
    grid: list[str | None] = [None] * n_grid
    with pyedflib.EdfReader(str(folder / HYPNOGRAM)) as hyp:
        for onset, duration, text in zip(*hyp.readAnnotations()):
            for e in range(int(onset // 30), min(n_grid, int((onset + duration) // 30))):
                grid[e] = RK.get(str(text))  # "Sleep stage ?", "Movement time": None
    y = [s for s in grid if s is not None]
    counts = Counter(y)
    n_second = max(counts[c] for c in CLASSES if c != "W")
    n_trim = max(0, (counts["W"] - n_second) // 2) if counts["W"] == max(counts.values()) else 0
    lead = next(i for i, s in enumerate(y) if s != "W")
    trail = next(i for i, s in enumerate(reversed(y)) if s != "W")
    return y[min(n_trim, lead) : len(y) - min(n_trim, trail)], n_grid


@pytest.fixture(scope="module")
def night() -> Path:
    return shared_dataset("sleep_edf")


def test_the_real_night_loads_with_the_hypnogram_counts(night, tmp_path, monkeypatch, capsys):
    kept, n_grid = expected_stages(night)
    expected = Counter(kept)
    assert n_grid == 2650 and expected["N3"] == 101 + 119  # the README's S3 + S4
    linked = tmp_path / "night"  # a folder of symlinks, as a user would make one
    linked.mkdir()
    for name in (PSG, HYPNOGRAM):
        (linked / name).symlink_to(night / name)
    for folder in (night, linked):
        code, out, err = run(monkeypatch, capsys, "data", "inspect", str(folder), "--json")
        assert code == 0, err
        summary = json.loads(out)
        assert summary["labels"] == {c: expected[c] for c in CLASSES}
        assert summary["n_samples"] == len(kept) and summary["n_groups"] == 1
        for modality in ("eeg", "eog"):
            m = summary["modalities"][modality]
            assert m["kind"] == "signal" and m["n_present"] == len(kept) and m["n_absent"] == 0
        info = summary["info"]
        assert info["channels"] == {"SC4001E0": {"eeg": "EEG Fpz-Cz", "eog": "EOG horizontal"}}
        assert info["epochs"]["SC4001E0"] == {
            "grid": n_grid,
            "movement": 0,
            "unscored": 0,
            "wake_trimmed": n_grid - len(kept),
            "kept": len(kept),
        }
        assert info["skipped"] == {} and info["noisy"] == {}
    code, out, err = run(monkeypatch, capsys, "data", "inspect", str(linked))
    assert code == 0, err
    assert "channels: eeg 'EEG Fpz-Cz'; eog 'EOG horizontal'" in out
    assert f"epochs (30 s): {n_grid} in 1 night(s);" in out and f"kept {len(kept)}" in out
