"""`omnifuse evaluate --subgroups` on a survival run: the C-index per subgroup, end to end."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import make_lowquality
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def survival_run(tmp_path_factory):
    ds, truth = make_lowquality(3, task="survival", n_samples=160, seed=0)
    folder = write_folder(ds, tmp_path_factory.mktemp("surv") / "cohort")
    pd.DataFrame({"sample_id": ds.sample_ids, "site": truth.site}).to_csv(folder / "subgroups.csv", index=False)
    out = tmp_path_factory.mktemp("runs") / "run"
    mp = pytest.MonkeyPatch()
    import sys

    from omnifuse.cli.app import main

    mp.setattr(sys, "argv", ["omnifuse", "train", "--data", str(folder), "--model", "cox", "--out", str(out)])
    try:
        main()
    except SystemExit as exc:
        assert not exc.code
    mp.undo()
    return folder, out, truth


def test_survival_evaluate_gives_the_c_index_per_subgroup(survival_run, tmp_path, monkeypatch, capsys):
    folder, trained, truth = survival_run
    out = tmp_path / "eval.json"
    code, stdout, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(trained), "--data", str(folder),
        "--subgroups", "site", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert "c_index" in doc["metrics"]  # the existing sections are unchanged
    audit = doc["subgroups"]
    assert audit["task"] == "survival" and audit["threshold"] is None and audit["n"] == doc["n_samples"]
    (site,) = audit["columns"]
    levels = sorted({str(s) for s in truth.site})
    assert [s["level"] for s in site["subgroups"]] == levels
    assert sum(s["n"] for s in site["subgroups"]) == doc["n_samples"]
    events = sum(s["class_counts"]["events"] for s in site["subgroups"])
    assert events == audit["overall"]["class_counts"]["events"]
    for sub in site["subgroups"]:
        c = sub["metrics"]["c_index"]
        assert 0.0 <= c["value"] <= 1.0 and c["ci_low"] <= c["value"] <= c["ci_high"]
    assert audit["overall"]["metrics"]["c_index"]["value"] == pytest.approx(doc["clean"]["c_index"]["mean"])
    assert "c_index" in site["gaps"] and site["fairness"] is None
    assert "site=0" in stdout and "largest C-index gap" in stdout


def test_survival_evaluate_unknown_column_is_one_line(survival_run, tmp_path, monkeypatch, capsys):
    folder, trained, _ = survival_run
    out = tmp_path / "eval.json"
    code, _, err = run(
        monkeypatch, capsys, "evaluate", "--run", str(trained), "--data", str(folder),
        "--subgroups", "ward", "--out", str(out),
    )  # fmt: skip
    assert code != 0 and "--subgroups: column 'ward' not found (available: site" in err and "Traceback" not in err
    assert len([line for line in err.strip().splitlines() if not line.startswith("warning:")]) == 1
    assert not out.exists()
