"""The typed documents: written by real runs, read back equal; bad files are one-line errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.errors import DataError
from omnifuse.evaluation.documents import (
    DetailsDocument,
    ResultsDocument,
    RobustnessDocument,
    read_details,
    read_results,
    read_robustness,
    write_document,
)
from omnifuse.evaluation.study import Study, SweepOptions, run_study, sweep_fitted
from tests.cli.test_app import run

READERS = {"results.json": read_results, "robustness.json": read_robustness, "details.json": read_details}


@pytest.fixture(scope="module")
def study() -> Study:
    """A small real study: two methods, two folds, a short sweep (no bootstrap)."""
    ds, truth = default_cohort(3, seed=0, n_samples=120)
    options = SweepOptions(missing_rates=(0.0, 0.5), noise_levels={"gaussian": (1.0,)}, draws=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_study(
            ds,
            ["concat", "sk-logreg"],
            folds=2,
            config={"max_epochs": 1},
            options=options,
            extra={"truth": {"lazy_combination": list(truth.lazy_combination)}},
        )


@pytest.fixture
def written(study: Study, tmp_path: Path) -> Path:
    study.write(tmp_path, report=False)
    return tmp_path


def test_each_document_round_trips(study: Study, written: Path):
    assert read_results(written / "results.json") == study.results
    assert read_robustness(written / "robustness.json") == study.robustness
    assert read_details(written / "details.json") == study.details
    for name in READERS:
        assert json.loads((written / name).read_text())["schema_version"] == 1


def test_documents_are_typed_and_undefined_values_are_none(study: Study):
    results, robustness, details = study.results, study.robustness, study.details
    assert isinstance(results, ResultsDocument) and isinstance(robustness, RobustnessDocument)
    assert isinstance(details, DetailsDocument)
    assert (
        results.protocol.type == "kfold"
        and results.protocol.folds == 2
        and results.repeats == ["seed 0 fold 0", "seed 0 fold 1"]
    )
    assert {(t.a, t.b) for t in results.tests} == {("concat", "sk-logreg")}
    assert robustness.protocol == results.protocol and robustness.baseline == "concat"
    assert robustness.methods["sk-logreg"].effective_robustness.baseline == "concat"
    assert details.truth == robustness.truth and details.dataset.n_samples == 120
    # a two-fold Student-t interval is defined; every value is a float or None, never NaN
    dumped = json.dumps(results.model_dump(mode="json"), allow_nan=False)
    assert "NaN" not in dumped


def test_trained_runs_document_has_no_effective_robustness_without_its_baseline(study: Study, tmp_path: Path):
    ds, _ = default_cohort(3, seed=0, n_samples=120)
    from omnifuse.training.fit import SplitContext, fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = {"sk-logreg": fit("sk-logreg", SplitContext(ds, np.arange(60), np.arange(60, 80)), {})}
        swept = sweep_fitted(
            ds,
            fitted,
            np.arange(80, 120),
            SweepOptions(missing_rates=(0.0, 0.5), noise_levels={}, patterns=False, draws=1, n_boot=20),
        )
    assert swept.results is None and swept.robustness.baseline is None
    assert swept.robustness.methods["sk-logreg"].effective_robustness is None
    assert swept.robustness.protocol.type == "trained runs" and swept.robustness.protocol.n_test == 40
    swept.write(tmp_path, report=False)
    assert not (tmp_path / "results.json").exists()
    assert (
        json.loads((tmp_path / "robustness.json").read_text())["methods"]["sk-logreg"]["effective_robustness"] is None
    )
    assert read_robustness(tmp_path / "robustness.json") == swept.robustness


def _edit(path: Path, change) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def _message(reader, path: Path) -> str:
    with pytest.raises(DataError) as err:
        reader(path)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("results.json", lambda d: d.pop("n_samples"), "field 'n_samples': Field required"),
        ("results.json", lambda d: d.update(n_samples="many"), "field 'n_samples': Input should be a valid integer"),
        (
            "results.json",
            lambda d: d["methods"]["concat"]["metrics"]["auroc"].update(mean="high"),
            "field 'methods.concat.metrics.auroc.mean': Input should be a valid number",
        ),
        ("results.json", lambda d: d.update(methodz={}), "field 'methodz': Extra inputs are not permitted"),
        ("results.json", lambda d: d["protocol"].update(type="bootstrap"), "field 'protocol': Input tag 'bootstrap'"),
        (
            "robustness.json",
            lambda d: d["methods"]["concat"].pop("clean"),
            "field 'methods.concat.clean': Field required",
        ),
        (
            "robustness.json",
            lambda d: d["levels"].update(missing="0.5"),
            "field 'levels.missing': Input should be a valid list",
        ),
        ("details.json", lambda d: d.pop("title"), "field 'title': Field required"),
        (
            "details.json",
            lambda d: d["methods"]["concat"]["calibration"].update(count=[1.5]),
            "field 'methods.concat.calibration.count.0': Input should be a valid integer",
        ),
        ("details.json", lambda d: d.update(task="regression"), "field 'task': Input should be 'binary', 'multiclass'"),
    ],
)
def test_a_missing_or_mistyped_field_is_one_line_naming_file_and_field(written: Path, name, change, expected):
    path = written / name
    _edit(path, change)
    assert expected in _message(READERS[name], path)


@pytest.mark.parametrize("name", list(READERS))
def test_schema_versions_other_than_this_one_are_refused(written: Path, name):
    path = written / name
    _edit(path, lambda d: d.update(schema_version=2))
    assert _message(READERS[name], path).endswith(
        "field 'schema_version': 2 is newer than this omnifuse reads (1); upgrade omnifuse"
    )
    _edit(path, lambda d: d.update(schema_version=0))
    assert "field 'schema_version': 0 is older than this omnifuse reads (1)" in _message(READERS[name], path)
    _edit(path, lambda d: d.update(schema_version="1"))
    assert "field 'schema_version': Input should be a valid integer" in _message(READERS[name], path)
    _edit(path, lambda d: d.pop("schema_version"))  # an old document, from before documents were versioned
    message = _message(READERS[name], path)
    assert "field 'schema_version': Field required" in message and "before omnifuse documents had a schema" in message


def test_non_json_and_foreign_json_files_are_refused(written: Path):
    path = written / "results.json"
    path.write_text("results: none\n")
    assert "malformed JSON at line 1 column 1" in _message(read_results, path)
    path.write_text("[1, 2]")
    assert "expected a JSON object at the top level, got list" in _message(read_results, path)
    path.write_bytes(b"\xff\xfe{}")
    assert "not UTF-8" in _message(read_results, path)
    path.write_text(json.dumps({"model": "concat", "metric": "auroc", "history": []}))  # e.g. a tune.json
    assert "field 'schema_version': Field required" in (message := _message(read_results, path))
    assert "or not a results document" in message
    # another document under this name: its first field that results.json lacks is named
    path.write_text((written / "robustness.json").read_text())
    assert "field 'classes': Field required" in _message(read_results, path)


def test_nan_in_memory_is_null_in_the_file_and_none_when_read(study: Study, tmp_path: Path):
    doc = study.results.model_copy(deep=True)
    doc.methods["concat"].metrics["auroc"].ci_low = float("nan")
    doc = ResultsDocument.model_validate(doc.model_dump())  # validation turns NaN into None
    assert doc.methods["concat"].metrics["auroc"].ci_low is None
    write_document(tmp_path / "results.json", doc)
    assert '"ci_low": null' in (tmp_path / "results.json").read_text()
    assert read_results(tmp_path / "results.json") == doc


def test_the_cli_prints_a_bad_document_as_one_line_without_traceback(written: Path, monkeypatch, capsys):
    _edit(written / "results.json", lambda d: d.pop("schema_version"))
    code, _, err = run(monkeypatch, capsys, "report", str(written))
    assert code == 2 and "Traceback" not in err
    assert f"{written / 'results.json'}: field 'schema_version': Field required" in " ".join(err.split())
    assert not (written / "report.html").exists()
