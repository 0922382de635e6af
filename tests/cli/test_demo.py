"""`omnifuse demo` end to end on small cohorts (the full-size run is `make demo`)."""

import json

from tests.cli.test_app import run


def test_demo_writes_cohorts_and_results(tmp_path, monkeypatch, capsys):
    out = tmp_path / "demo"
    code, stdout, err = run(
        monkeypatch,
        capsys,
        "demo",
        "--out",
        str(out),
        "--folds",
        "2",
        "--n-samples",
        "150",
        "--max-epochs",
        "3",
        "--models",
        "omnifuse,concat,sk-logreg",
    )
    assert code == 0, err
    for m in (3, 5):
        results = json.loads((out / f"cohort-{m}" / "results.json").read_text())
        assert set(results["methods"]) == {"omnifuse", "concat", "sk-logreg"}
        assert len(results["modalities"]) == m
        truth = json.loads((out / f"cohort-{m}" / "data" / "truth.json").read_text())
        assert truth["lazy_combination"]
        trace = results["methods"]["omnifuse"]["traces"][0]["omnifuse"]["lazy_history"]
        assert trace and all(set(e["lazy"]) <= set(results["modalities"]) for e in trace)
        robustness = json.loads((out / f"cohort-{m}" / "robustness.json").read_text())
        assert set(robustness["methods"]) == {"omnifuse", "concat", "sk-logreg"}  # the swept subset present
        assert len(robustness["methods"]["omnifuse"]["patterns"]) == 2**m - 1
        details = json.loads((out / f"cohort-{m}" / "details.json").read_text())
        assert details["truth"]["lazy_combination"] == truth["lazy_combination"]
    survival = json.loads((out / "cohort-survival" / "results.json").read_text())
    assert set(survival["methods"]) == {"omnifuse", "concat"}  # sk-logreg has no survival task
    c_index = survival["methods"]["concat"]["metrics"]["c_index"]
    assert 0.0 <= (c_index["mean"] if isinstance(c_index, dict) else c_index) <= 1.0
    html = (out / "report.html").read_text()
    assert "simulated 3-modality cohort" in html and "simulated 5-modality cohort" in html
    assert "simulated 3-modality survival cohort" in html
    assert "C-index of the true log-hazard" in stdout
    assert "ground-truth lazy combination" in stdout and "demo finished" in stdout and "report.html" in stdout
