import base64
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

import omnifuse
from omnifuse.errors import DataError
from omnifuse.evaluation.report import build_report

from .conftest import minimal_method_details, minimal_results, write_cohort

PNG = "data:image/png;base64,"
HEADINGS = [
    "Dataset",
    "Benchmark",
    "Robustness summary",
    "Robustness to missing modalities",
    "Robustness to noise",
    "Performance per availability pattern",
    "Confusion matrices",
    "Calibration",
    "OmniFuse lazy-combination mining (TLA)",
    "Modality weights",
    "Embeddings (t-SNE)",
]
FIGURES_PER_COHORT = 10  # labels, availability, missing, noise, patterns, confusion, calibration, TLA, weights, t-SNE


def headings(text: str) -> list[str]:
    return re.findall(r"<h3>(.*?)</h3>", text)


def test_single_cohort_report_has_every_section_in_order(cohort_dir: Path):
    path = build_report(cohort_dir)
    assert path == cohort_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    assert headings(text) == HEADINGS
    assert text.count(PNG) == FIGURES_PER_COHORT
    assert text.count('<section class="cohort"') == 1
    assert "<title>omnifuse report</title>" in text and f"omnifuse {omnifuse.__version__}" in text
    assert "TLA mines the combination whose unimodal/joint prediction is worst each epoch" in text
    assert "fig. 8" in text
    assert "lazy modality combination is <strong>protein</strong>" in text
    # late differs from the best (omnifuse) on AUROC at p = 0.01; concat (p = 0.3) is not marked
    assert re.search(r"late.*?0\.\d{3}<sup>†</sup>", text, re.S)
    assert "corrected resampled t-test over folds" in text and "Student-t interval over folds" in text
    assert sorted(p.name for p in cohort_dir.iterdir()) == [
        "details.json",
        "report.html",
        "results.json",
        "robustness.json",
    ]


def test_report_is_self_contained_and_images_decode(cohort_dir: Path):
    text = build_report(cohort_dir).read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert "<script" not in text and "<link" not in text and "@import" not in text
    uris = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(uris) == FIGURES_PER_COHORT
    image = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    image.load()
    assert image.format == "PNG" and image.width > 100 and image.height > 50


def test_subfolders_give_one_section_each_with_a_table_of_contents(cohorts_dir: Path):
    text = build_report(cohorts_dir, title="Demo <cohorts> & more").read_text(encoding="utf-8")
    assert text.count('<section class="cohort"') == 2
    assert '<section class="cohort" id="cohort-3">' in text and '<section class="cohort" id="cohort-5">' in text
    assert text.index("simulated 3-modality cohort</h2>") < text.index("multiclass cohort</h2>")
    assert 'href="#cohort-3"' in text and 'href="#cohort-5-benchmark"' in text
    assert headings(text) == HEADINGS * 2
    assert text.count(PNG) == 2 * FIGURES_PER_COHORT
    assert "Demo &lt;cohorts&gt; &amp; more" in text and "<cohorts>" not in text
    assert "subtype D" in text  # the multiclass cohort's class names


def test_a_method_keeps_one_colour_across_cohorts(cohorts_dir: Path):
    text = build_report(cohorts_dir).read_text(encoding="utf-8")
    for method in ("omnifuse", "concat", "late", "broken"):
        colours = set(re.findall(rf'background:(#[0-9a-f]{{6}})"></span>{method}<', text))
        assert len(colours) == 1, method
    assert len(set(re.findall(r'background:(#[0-9a-f]{6})"></span>', text))) == 4


def test_no_json_anywhere_is_a_data_error(tmp_path: Path):
    (tmp_path / "empty-cohort").mkdir()
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(DataError) as err:
        build_report(tmp_path)
    assert (
        str(err.value)
        == f"{tmp_path}: no results.json, robustness.json, details.json, tune.json or explain.json to report on"
    )
    assert not (tmp_path / "report.html").exists()


def test_malformed_json_names_the_file(cohorts_dir: Path):
    bad = cohorts_dir / "cohort-5" / "robustness.json"
    bad.write_text('{"methods": {"concat": ')
    with pytest.raises(DataError) as err:
        build_report(cohorts_dir)
    message = str(err.value)
    assert str(bad) in message and "malformed JSON" in message and "\n" not in message
    (cohorts_dir / "cohort-3" / "details.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="details.json: expected a JSON object"):
        build_report(cohorts_dir)


def test_null_metrics_nan_tokens_and_partial_inputs_do_not_crash(tmp_path: Path):
    undefined = {"mean": None, "std": None, "values": [], "ci_low": None, "ci_high": None}
    doc = minimal_results(
        methods={
            "empty": {"kind": "fusion", "metrics": {"auroc": undefined}, "train_seconds": None, "n_params": 0},
            "undefined": {
                "kind": "fusion",
                "metrics": {"auroc": undefined | {"mean": float("nan"), "values": [None]}},
                "train_seconds": float("nan"),
                "n_params": 0,
            },
        },
        tests=[{"a": "empty", "b": "undefined", "metric": "auroc", "p_value": None, "test": "t-test"}],
    )
    (tmp_path / "results.json").write_text(json.dumps(doc))
    assert "NaN" in (tmp_path / "results.json").read_text()
    text = build_report(tmp_path).read_text(encoding="utf-8")
    assert headings(text) == ["Dataset", "Benchmark"]
    assert '<td class="num">–</td>' in text
    assert not re.search(r">\s*nan\s*<", text, re.I)
    assert text.count(PNG) == 0


def test_only_robustness_and_a_multilabel_confusion_matrix(tmp_path: Path):
    source = write_cohort(tmp_path / "source", "x")
    run = tmp_path / "run"
    run.mkdir()
    (run / "robustness.json").write_text((source / "robustness.json").read_text())
    details = json.loads((source / "details.json").read_text())
    details["task"], details["classes"] = "multilabel", ["fever", "sepsis"]
    details["methods"] = {"late": minimal_method_details(confusion_matrix=[[[50, 3], [4, 20]], [[40, 10], [0, 30]]])}
    (run / "details.json").write_text(json.dumps(details))
    text = build_report(run).read_text(encoding="utf-8")
    assert headings(text) == [
        "Dataset",
        "Robustness summary",
        "Robustness to missing modalities",
        "Robustness to noise",
        "Performance per availability pattern",
        "Confusion matrices",
    ]
    assert "one 2×2 matrix per label" in text


def test_no_pyplot_figures_are_left_open(cohort_dir: Path):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    build_report(cohort_dir)
    assert plt.get_fignums() == before


def test_hostile_names_are_escaped_everywhere(tmp_path: Path):
    """A modality, a method and a cohort title that are HTML show as text, never as markup."""
    folder = write_cohort(tmp_path / "run", "<i>cohort</i> & co")
    script, image = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
    for name in ("results.json", "robustness.json", "details.json"):
        path = folder / name
        path.write_text(path.read_text().replace("protein", script).replace('"late"', json.dumps(image)))
    text = build_report(folder).read_text(encoding="utf-8")
    assert headings(text) == HEADINGS and text.count(PNG) == FIGURES_PER_COHORT
    assert "<script" not in text and "<img src=x" not in text and "<i>" not in text
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"lazy modality combination is <strong>{escaped_script}</strong>" in text
    assert f'<td class="txt">{escaped_script}</td>' in text  # the modality table
    assert '&lt;img src=x onerror=alert(1)&gt;<span class="kind">fusion</span>' in text  # the benchmark table
    assert "<h2>&lt;i&gt;cohort&lt;/i&gt; &amp; co</h2>" in text
