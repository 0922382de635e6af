"""The report's conformal parts: coverage and set size versus missing rate, and the benchmark
table's coverage columns."""

import json
import re
from pathlib import Path

from omnifuse.evaluation.report import build_report

from .conftest import write_cohort

PNG = "data:image/png;base64,"
HEADING = "Conformal prediction sets under missing modalities"


def _cell(mean: float) -> dict[str, float]:
    return {"mean": mean, "ci_low": mean - 0.02, "ci_high": mean + 0.02}


def _with_sets(folder: Path) -> None:
    rob = json.loads((folder / "robustness.json").read_text())
    for name in ("omnifuse", "concat"):
        method = rob["methods"][name]
        method["conformal"] = 0.9
        for curve in method["missing"].values():
            for level, cell in curve.items():
                cell["coverage"] = _cell(0.9 - 0.05 * float(level))
                cell["set_size"] = _cell(1.2 + 0.5 * float(level))
    (folder / "robustness.json").write_text(json.dumps(rob))
    results = json.loads((folder / "results.json").read_text())
    for name in ("omnifuse", "concat"):
        metrics = results["methods"][name]["metrics"]
        metrics["coverage"] = {"mean": 0.91, "std": 0.01, "values": [0.9, 0.91, 0.92], "ci_low": 0.89, "ci_high": 0.93}
        metrics["set_size"] = {"mean": 1.3, "std": 0.1, "values": [1.2, 1.3, 1.4], "ci_low": 1.1, "ci_high": 1.5}
    (folder / "results.json").write_text(json.dumps(results))


def test_coverage_and_set_size_curves_and_benchmark_columns(tmp_path: Path):
    folder = write_cohort(tmp_path / "run", "x")
    assert HEADING not in build_report(folder).read_text(encoding="utf-8")  # no sets, no block
    _with_sets(folder)
    text = build_report(folder).read_text(encoding="utf-8")
    headings = re.findall(r"<h3>(.*?)</h3>", text)
    assert headings.index(HEADING) == headings.index("Performance per availability pattern") + 1
    block = text[text.index(f"<h3>{HEADING}</h3>") :]
    block = block[: block.index("</section>")]
    assert block.count(PNG) == 2  # coverage, then set size
    assert "target coverage (0.9)" in block
    benchmark = text[text.index("<h3>Benchmark</h3>") :]
    benchmark = benchmark[: benchmark.index("</section>")]
    assert "Coverage" in benchmark and "Set size ↓" in benchmark
    assert "conformal prediction set" in benchmark
