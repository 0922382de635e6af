"""`omnifuse benchmark --subgroups` through the real entry point, and its report section."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from omnifuse.data import Labels
from omnifuse.data.loaders import write_folder
from omnifuse.data.simulate import make_lowquality
from tests.cli.test_app import run


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory):
    """A simulated cohort with subgroups.csv: site "C" has its labels shuffled (the model
    cannot rank it), sex is uninformative; labels.csv keeps its own columns."""
    ds, _ = make_lowquality(3, n_samples=300, seed=3)
    rng = np.random.default_rng(3)
    site = rng.choice(["A", "B", "C"], size=len(ds))
    y = ds.y.copy()
    bad = np.flatnonzero(site == "C")
    y[bad] = rng.permutation(y[bad])
    ds = ds.replace(labels=Labels("binary", y, ds.class_names))
    folder = write_folder(ds, tmp_path_factory.mktemp("planted") / "cohort")
    frame = pd.DataFrame({"sample_id": ds.sample_ids, "site": site, "sex": rng.choice(["F", "M"], size=len(ds))})
    frame.to_csv(folder / "subgroups.csv", index=False)
    return folder


def test_benchmark_audits_every_subgroup_and_the_report_shows_it(planted_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(planted_dir), "--models", "sk-logreg",
        "--folds", "3", "--subgroups", "site,sex", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads((out / "results.json").read_text())
    audit = doc["methods"]["sk-logreg"]["subgroups"]
    assert audit["rule"] == "youden" and [c["column"] for c in audit["columns"]] == ["site", "sex"]
    for column in audit["columns"]:
        assert sum(s["n"] for s in column["subgroups"]) == doc["n_samples"]  # pooled over folds: the cohort
    site = audit["columns"][0]
    assert [s["level"] for s in site["subgroups"]] == ["A", "B", "C"]
    assert site["gaps"]["auroc"]["lowest"] == "C" and site["gaps"]["auroc"]["gap"] > 0.2
    assert site["equalized_odds_difference"]["mean"] is not None
    assert len(site["subgroups"][0]["metrics"]["auroc"]["values"]) == 3
    assert "sk-logreg site=C" in stdout and "largest auroc gap" in stdout and "equalised-odds" in stdout

    code, stdout, err = run(monkeypatch, capsys, "report", str(out))
    assert code == 0, err
    html = (out / "report.html").read_text()
    assert "Subgroup audit" in html and "largest gap" in html and "AUROC per subgroup" in html


def test_benchmark_counts_add_up_per_class(planted_dir, tmp_path, monkeypatch, capsys):
    labels = pd.read_csv(planted_dir / "labels.csv", dtype=str)
    out = tmp_path / "bench"
    code, _, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(planted_dir), "--models", "sk-logreg",
        "--folds", "2", "--subgroups", "sex", "--threshold", "0.5", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    (sex,) = json.loads((out / "results.json").read_text())["methods"]["sk-logreg"]["subgroups"]["columns"]
    for name, count in labels["label"].value_counts().items():
        assert sum(s["class_counts"][name] for s in sex["subgroups"]) == count


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("site,ward", "--subgroups: column 'ward' not found (available: site, sex, tabular features"),
        (" , ", "--subgroups: give one or more column names"),
    ],
)
def test_benchmark_bad_subgroups_fail_before_training_in_one_line(
    planted_dir, tmp_path, monkeypatch, capsys, option, message
):
    import omnifuse.evaluation.benchmark as benchmark

    def never(*args, **kwargs):
        raise AssertionError("trained despite a bad --subgroups")

    monkeypatch.setattr(benchmark, "run_benchmark", never)
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch, capsys, "benchmark", "--data", str(planted_dir), "--models", "sk-logreg",
        "--subgroups", option, "--out", str(out),
    )  # fmt: skip
    assert code != 0 and message in err and "Traceback" not in err
    assert len([line for line in err.strip().splitlines() if not line.startswith("warning:")]) == 1
    assert not out.exists()
