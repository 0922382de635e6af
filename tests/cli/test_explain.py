"""`omnifuse explain` through the real entry point: every supported kind of model, the
document it writes, and its one-line errors."""

from __future__ import annotations

import pytest

from omnifuse.data.loaders import load_dataset, write_folder
from omnifuse.data.simulate import default_cohort
from omnifuse.evaluation.documents import read_explanations
from tests.cli.test_app import run

MODELS = {
    "concat": ["--set", "max_epochs=2", "--set", "embed_dim=8", "--set", "encoders.timeseries.type=lstm"],
    "sk-logreg": [],
    "sk-hgb": ["--set", "model.max_iter=30"],
    "sk-stack": [],
}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """150 simulated patients: ehr (tabular), notes (embedding), vitals (time series), with absences."""
    ds, _ = default_cohort(3, seed=1, n_samples=150)
    return write_folder(ds, tmp_path_factory.mktemp("cohort") / "c")


@pytest.fixture(scope="module")
def runs(cohort, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    mp = pytest.MonkeyPatch()
    import sys

    from omnifuse.cli.app import main

    for model, extra in MODELS.items():
        mp.setattr(
            sys,
            "argv",
            ["omnifuse", "train", "--data", str(cohort), "--model", model, *extra, "--out", str(root / model)],
        )
        try:
            main()
        except SystemExit as exc:
            assert not exc.code
    mp.undo()
    return root


@pytest.mark.parametrize("model", list(MODELS))
def test_explain_writes_one_entry_per_patient(cohort, runs, model, tmp_path, monkeypatch, capsys):
    out = tmp_path / "explain.json"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "explain",
        "--run",
        str(runs / model),
        "--data",
        str(cohort),
        "--top",
        "3",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = read_explanations(out)
    ds = load_dataset(cohort)
    assert doc.model == model and doc.n_patients == len(ds) == len(doc.patients) and doc.top_k == 3
    assert [p.sample_id for p in doc.patients] == list(ds.sample_ids)
    for row, p in enumerate(doc.patients):
        absent = [m for j, m in enumerate(ds.modalities) if not ds.mask[row, j]]
        assert p.absent == absent and not set(absent) & set(p.modalities)  # absent: no entry at all
        if p.modalities:
            assert sum(m.share for m in p.modalities.values()) == pytest.approx(1.0)
        assert all(len(m.features) <= 3 and len(m.windows) <= 3 for m in p.modalities.values())
        moved = p.score - p.baseline_score
        assert abs(p.delta) <= 1e-2 * max(1.0, abs(moved))
    if model == "concat":
        assert doc.method == "integrated_gradients" and doc.modality_weights is None
        vitals = [p.modalities["vitals"] for p in doc.patients if "vitals" in p.modalities]
        assert vitals and any(v.windows for v in vitals)  # time series: per channel and time window
    else:
        assert doc.method == {"sk-logreg": "linear_shap", "sk-hgb": "tree_shap", "sk-stack": "linear_shap"}[model]
    assert {m for m, s in doc.summary.items() if s.n_present} <= set(ds.modalities)
    assert "patients explained" in stdout


def test_explain_a_split_of_the_real_breast_cohort(tmp_path, monkeypatch, capsys):
    """sk-logreg on TCGA breast: the test patients lack protein, so protein has no entry."""
    from tests.conftest import shared_dataset

    breast = shared_dataset("breast_tcga")
    run_dir = tmp_path / "run"
    code, _, err = run(
        monkeypatch, capsys, "train", "--data", str(breast), "--model", "sk-logreg", "--out", str(run_dir)
    )
    assert code == 0, err
    out = tmp_path / "e.json"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "explain",
        "--run",
        str(run_dir),
        "--data",
        str(breast),
        "--split",
        "test",
        "--out",
        str(out),
    )
    assert code == 0, err
    doc = read_explanations(out)
    assert doc.n_patients == 70 and doc.split == "test"
    assert all(p.absent == ["protein"] and set(p.modalities) == {"mirna", "mrna"} for p in doc.patients)
    assert doc.summary["protein"].n_present == 0 and doc.summary["protein"].mean_share is None
    assert all(abs(p.delta) < 1e-6 for p in doc.patients)
    assert "protein" not in stdout.split("mean share per modality:")[1].split(";")[0] or "absent" in stdout


def test_ids_choose_the_patients(cohort, runs, tmp_path, monkeypatch, capsys):
    ds = load_dataset(cohort)
    wanted = [str(ds.sample_ids[7]), str(ds.sample_ids[2])]
    out = tmp_path / "e.json"
    args = ["explain", "--run", str(runs / "sk-logreg"), "--data", str(cohort), "--ids", ",".join(wanted)]
    code, _, err = run(monkeypatch, capsys, *args, "--out", str(out))
    assert code == 0, err
    assert [p.sample_id for p in read_explanations(out).patients] == wanted


@pytest.mark.parametrize(
    "args, message",
    [
        (["--out", "{tmp}/e.csv"], "use a .json file"),
        (["--out", "{tmp}"], "is a directory"),
        (["--out", "{tmp}/e.json", "--window", "0"], "must be positive"),
        (["--out", "{tmp}/e.json", "--split", "nope"], "no split"),
        (["--out", "{tmp}/e.json", "--ids", "nobody,s1"], "no sample 'nobody'"),
    ],
)
def test_errors_are_one_line_and_write_nothing(cohort, runs, tmp_path, monkeypatch, capsys, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run(monkeypatch, capsys, "explain", "--run", str(runs / "concat"), "--data", str(cohort), *args)
    assert code != 0 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) <= 2  # one message (rich may wrap it)
    assert not any(p.suffix in (".json", ".csv") for p in tmp_path.iterdir())


def test_missing_run_is_one_line(cohort, tmp_path, monkeypatch, capsys):
    code, _, err = run(
        monkeypatch,
        capsys,
        "explain",
        "--run",
        str(tmp_path / "none"),
        "--data",
        str(cohort),
        "--out",
        str(tmp_path / "e.json"),
    )
    assert code == 2 and "no such bundle directory" in err
    assert not (tmp_path / "e.json").exists()


def test_a_survival_run_is_refused_in_one_line(tmp_path, monkeypatch, capsys):
    """Attributions explain class scores: a survival model is not supported yet (before any data is read)."""
    from omnifuse.data.simulate import make_lowquality

    ds, _ = make_lowquality(2, task="survival", n_samples=80, seed=0)
    folder = write_folder(ds, tmp_path / "surv")
    run_dir = tmp_path / "run"
    code, _, err = run(
        monkeypatch,
        capsys,
        "train",
        "--data",
        str(folder),
        "--model",
        "concat",
        "--set",
        "max_epochs=1",
        "--out",
        str(run_dir),
    )
    assert code == 0, err
    out = tmp_path / "e.json"
    code, _, err = run(monkeypatch, capsys, "explain", "--run", str(run_dir), "--data", str(folder), "--out", str(out))
    assert code == 2 and "attributions for survival models ('concat') are not supported yet" in err
    assert "Traceback" not in err and not out.exists()
