"""Per-class F1 and hypnogram sections (sleep staging outputs in details.json)."""

import json

from omnifuse.evaluation.report import build_report

from .conftest import minimal_details, minimal_method_details

STAGES = ["W", "N1", "N2", "N3", "REM"]


def test_hypnogram_and_per_class_f1_sections(tmp_path):
    true = [0] * 10 + [1] * 5 + [2] * 20 + [3] * 15 + [4] * 10 + [0] * 5
    predicted = [min(4, v + (k % 7 == 0)) for k, v in enumerate(true)]
    details = minimal_details(
        STAGES,
        title="synthetic nights",
        modalities=["eeg", "eog"],
        hypnogram={
            "recording": "night-0",
            "epoch_seconds": 30,
            "position": list(range(len(true))),
            "true": true,
            "methods": {"medfusesleep": predicted, "early-sleep": true},
        },
        methods={
            "medfusesleep": minimal_method_details(
                per_class_f1={"W": 0.9, "N1": 0.31, "N2": 0.85, "N3": 0.88, "REM": None}
            ),
            "early-sleep": minimal_method_details(per_class_f1={"W": 0.8, "N1": 0.2, "N2": 0.8, "N3": 0.9, "REM": 0.7}),
        },
    )
    (tmp_path / "details.json").write_text(json.dumps(details))
    html = build_report(tmp_path).read_text()
    assert "Hypnogram" in html and "Per-class F1" in html and "night-0" in html
    assert html.count("data:image/png;base64") == 1  # the hypnogram (no other plottable details)
    assert "0.310" in html and "–" in html  # a class never seen/predicted is a dash


def test_no_hypnogram_without_epoch_data(tmp_path):
    (tmp_path / "details.json").write_text(json.dumps(minimal_details(["a", "b"])))
    html = build_report(tmp_path).read_text()
    assert "Hypnogram" not in html and "Per-class F1" not in html
