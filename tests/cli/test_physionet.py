"""A PhysioNet 2012 folder with unusable lines through the CLI: it loads, reports and trains;
``--strict`` refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.data.test_physionet import stay, write_folder, write_outcomes
from tests.cli.test_app import run

BAD_ROWS = ["06:32,,2.7", "07:00,Foo,1", "garbage", "7h05,HR,70", "08:00,Temp,warm"]


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 stays in set-a; every fourth one carries the five unusable lines after line 9."""
    root = tmp_path_factory.mktemp("pn") / "physionet"
    root.mkdir()
    rng = np.random.default_rng(0)
    stays, outcomes = {}, []
    for k in range(24):
        rid, died = 135000 + k, k % 2
        rows = [f"{h:02d}:00,HR,{70 + 20 * died + rng.normal(0, 5):.0f}" for h in range(1, 6)]
        rows += [f"{h:02d}:30,Lactate,{1 + 3 * died + rng.random():.1f}" for h in (2, 4)]
        if k % 4 == 0:
            rows = rows[:2] + BAD_ROWS + rows[2:]
        stays[rid] = stay(rid, (50 + k, k % 2, 170, 1 + k % 4, 80), rows)
        outcomes.append((rid, died))
    write_folder(root, "a", stays)
    write_outcomes(root, "a", outcomes)
    return root


def test_inspect_reports_counts_and_places(dirty, monkeypatch, capsys):
    code, out, err = run(monkeypatch, capsys, "data", "inspect", str(dirty), "--json")
    assert code == 0, err
    skipped = json.loads(out)["info"]["skipped_lines"]
    assert skipped["total"] == 30
    assert skipped["kinds"] == {
        "empty name": 6,
        "unknown name": 6,
        "unparsable time": 6,
        "non-numeric value": 6,
        "wrong field count": 6,
    }
    assert skipped["first"] == [f"set-a/135000.txt:{n}" for n in range(10, 15)]
    assert err.count("warning:") == 1  # one summary line per load
    assert "30 unusable line(s) skipped" in err and "first at set-a/135000.txt:10, " in err


@pytest.mark.parametrize("command", [["data", "inspect"], ["train", "--model", "concat"]])
def test_strict_refuses_naming_the_first_place(dirty, tmp_path, monkeypatch, capsys, command):
    out = tmp_path / "run"
    args = [*command, str(dirty)] if command[0] == "data" else [*command, "--data", str(dirty), "--out", str(out)]
    code, _, err = run(monkeypatch, capsys, *args, "--strict")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "set-a/135000.txt: line 10: bad parameter name ''" in err
    assert not out.exists()  # nothing written


def test_train_on_the_dirty_folder(dirty, tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(dirty),
        "--model",
        "concat",
        "--set",
        "max_epochs=2",
        "--set",
        "embed_dim=8",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "30 unusable line(s) skipped" in err
    summary = json.loads((out / "run.json").read_text())
    assert summary["n_train"] + summary["n_val"] == 24 and 0.0 <= summary["validation"]["auroc"] <= 1.0
