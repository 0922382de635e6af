"""The report's subgroup block, from a survival benchmark's results.json."""

from __future__ import annotations

import pandas as pd

from omnifuse.data.simulate import make_lowquality
from omnifuse.evaluation.benchmark import run_benchmark
from omnifuse.evaluation.documents import write_document
from omnifuse.evaluation.report import build_report
from omnifuse.trust.subgroup_benchmark import SubgroupCollector


def test_survival_subgroup_block_shows_the_c_index_per_subgroup(tmp_path):
    ds, truth = make_lowquality(3, task="survival", n_samples=120, seed=0)
    collector = SubgroupCollector(ds, pd.DataFrame({"site": truth.site.astype(str)}))
    results = collector.apply(run_benchmark(ds, ["cox"], folds=2, on_repeat=collector.add))
    write_document(tmp_path / "results.json", results)
    html = build_report(tmp_path).read_text()
    section = html[html.index("Subgroup audit</h") :]
    assert "C-index per subgroup" in section and "events" in section and "largest gap" in section
    assert "Equalised-odds" not in section  # no decision, no fairness difference
    results.methods["cox"].subgroups = None
    write_document(tmp_path / "results.json", results)
    assert "Subgroup audit" not in build_report(tmp_path).read_text()
