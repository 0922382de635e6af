"""The CLI's tables at 80 columns (a pipe, CI, a narrow terminal): every number printed whole."""

from __future__ import annotations

import json

import pytest

from omnifuse.cli.common import console
from omnifuse.cli.output import print_robustness
from omnifuse.cli.output import BENCHMARK_COLUMNS, print_benchmark, print_summary
from omnifuse.evaluation.documents import ResultsDocument, RobustnessDocument
from tests.cli.test_app import run


@pytest.fixture
def width(monkeypatch: pytest.MonkeyPatch):
    def set_width(columns: int) -> None:
        monkeypatch.setattr(console, "_width", columns)

    set_width(80)
    return set_width


def metric(mean: float, half: float) -> dict[str, float]:
    return {"mean": mean, "std": half, "values": [mean], "ci_low": mean - half, "ci_high": mean + half}


def results() -> ResultsDocument:
    methods = {}
    for k, name in enumerate(["modality-dropout", "medfusesleep-base", "sk-logreg"]):
        metrics = {m: metric(0.9 + k / 100 + j / 1000, 0.012 + k / 1000) for j, m in enumerate(BENCHMARK_COLUMNS)}
        metrics["ece"] = metric(0.05, float("nan"))  # a single fold: no interval
        methods[name] = {"kind": "fusion", "metrics": metrics, "train_seconds": 1234.5 + k, "n_params": 12_345_678 + k}
    return ResultsDocument.model_validate(
        {
            "dataset": "/data/some/long/path/to/a/cohort",
            "task": "binary",
            "classes": ["no", "yes"],
            "n_samples": 100,
            "modalities": ["a", "b"],
            "methods": methods,
            "repeats": [],
            "config": {},
            "tests": [],
            "protocol": {"type": "kfold", "folds": 5, "seeds": 3, "ci": "Student-t interval over folds"},
        }
    )


def numbers(doc: dict) -> list[str]:
    out = []
    for method in doc["methods"].values():
        for m in BENCHMARK_COLUMNS:
            cell = method["metrics"][m]
            defined = cell["ci_high"] is not None and cell["ci_low"] is not None
            half = (cell["ci_high"] - cell["ci_low"]) / 2 if defined else float("nan")
            out += [f"{cell['mean']:.3f}"] + ([f"±{half:.3f}"] if half == half else [])
        out += [f"{method['train_seconds']:.1f}", f"{method['n_params']:,}"]
    return out


@pytest.mark.parametrize("columns", [80, 60, 200])
def test_benchmark_table_prints_every_number_whole(width, capsys, columns):
    width(columns)
    doc = results()
    print_benchmark(doc)
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= columns
    for text in [*numbers(doc.model_dump()), *doc.methods]:
        assert text in out, text
    if columns == 200:  # wide enough: one line per method, intervals beside the means
        assert "0.900 ±0.012" in out


def test_benchmark_through_the_cli_at_80_columns(width, tmp_path, monkeypatch, capsys):
    from omnifuse.data.loaders import write_folder
    from omnifuse.data.simulate import default_cohort

    ds, _ = default_cohort(2, seed=3, n_samples=90)
    data = write_folder(ds, tmp_path / "c")
    out = tmp_path / "bench"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "benchmark",
        "--data",
        str(data),
        "--models",
        "concat,sk-logreg",
        "--folds",
        "2",
        "--set",
        "max_epochs=2",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert "…" not in stdout
    for text in numbers(json.loads((out / "results.json").read_text())):
        assert text in stdout, text


def test_robustness_table_at_80_columns(width, capsys):
    pattern = "clinical_notes+genomics_panel+imaging_features+vital_signs"
    baseline = "a-very-long-baseline-model-name"

    def cell(mean: float) -> dict:
        return {"auroc": {"mean": mean, "ci_low": None, "ci_high": None}}

    methods = {
        name: {"clean": cell(0.912), "relative_robustness": {"overall": {"auroc": 0.987}},
               "effective_robustness": {"overall": {"auroc": -0.0123}, "baseline": baseline},
               "patterns": {pattern: cell(0.61), "clinical_notes": cell(0.8)}, "missing": {}, "noise": {}}
        for name in ("omnifuse", "modality-dropout-with-a-long-name")
    }  # fmt: skip
    print_robustness(
        RobustnessDocument.model_validate(
            {
                "dataset": "d",
                "task": "binary",
                "modalities": ["clinical_notes"],
                "draws": 1,
                "repeats": 1,
                "interval": "t",
                "baseline": baseline,
                "levels": {"missing": [0.0], "noise": {}},
                "pattern_counts": {},
                "methods": methods,
            }
        )
    )
    out = capsys.readouterr().out
    assert "…" not in out
    for text in ("0.912", "0.987", "-0.012", "(0.610)"):
        assert text in out


def test_models_and_inspect_tables_at_80_columns(width, monkeypatch, capsys, tiny):
    code, out, _ = run(monkeypatch, capsys, "models")
    assert code == 0 and "…" not in out and "sk-logreg" in out
    tiny = tiny.select_modalities(["clin", "omics"])
    summary = tiny.summary()
    summary["modalities"]["a_modality_with_a_very_long_name_from_a_real_export_0123456789"] = summary["modalities"][
        "clin"
    ]
    print_summary(summary, title="cohort")
    out = capsys.readouterr().out
    assert "…" not in out


@pytest.mark.parametrize("columns", [80, 200])
def test_conformal_columns_and_table(width, capsys, columns):
    width(columns)
    doc = results().model_dump()
    for k, method in enumerate(doc["methods"].values()):
        method["metrics"]["coverage"] = metric(0.901 + k / 100, 0.021)
        method["metrics"]["set_size"] = metric(1.234 + k / 10, 0.05)
    print_benchmark(ResultsDocument.model_validate(doc))
    out = capsys.readouterr().out
    assert "…" not in out
    for text in ("0.901", "0.921", "±0.021", "1.234", "1.434"):
        assert text in out, text

    def cell(auroc: float, cov: float, size: float) -> dict:
        return {
            "auroc": {"mean": auroc, "ci_low": None, "ci_high": None},
            "coverage": {"mean": cov, "ci_low": cov - 0.011, "ci_high": cov + 0.011},
            "set_size": {"mean": size, "ci_low": None, "ci_high": None},
        }

    method = {
        "clean": cell(0.85, 0.903, 1.41),
        "conformal": 0.9,
        "relative_robustness": {"overall": {"auroc": 0.8}},
        "patterns": {"labs": cell(0.7, 0.862, 1.77), "labs+vitals": cell(0.8, 0.895, 1.93)},
        "missing": {"any": {"0.0": cell(0.85, 0.903, 1.41), "0.9": cell(0.72, 0.877, 1.66)}},
        "noise": {},
    }
    plain = method | {"conformal": None, "clean": {"auroc": method["clean"]["auroc"]}}
    print_robustness(
        RobustnessDocument.model_validate(
            {
                "dataset": "d",
                "task": "binary",
                "modalities": ["labs", "vitals"],
                "draws": 1,
                "repeats": 1,
                "interval": "t",
                "baseline": None,
                "levels": {"missing": [0.0, 0.9], "noise": {}},
                "pattern_counts": {},
                "methods": {"concat": method, "sk-logreg": plain},
            }
        )
    )
    out = capsys.readouterr().out
    assert "…" not in out and "conformal sets" in out
    table = out[out.index("conformal sets") :]
    assert "sk-logreg" not in table  # no sets, no row
    for text in ("0.903", "[0.892,", "1.41", "0.877", "1.66", "labs: 0.862", "1.93"):
        assert text in table, text
