import json
from pathlib import Path

import pytest

from omnifuse.errors import DataError
from omnifuse.evaluation.report.load import load_cohorts, read_json
from omnifuse.evaluation.report.values import fmt, level_items, num, ordered, pattern_sort_key

from .conftest import minimal_details, minimal_results


def test_read_json_turns_nan_and_infinity_into_none(tmp_path: Path):
    path = tmp_path / "results.json"
    path.write_text('{"a": NaN, "b": [1.5, Infinity, null], "c": {"d": -Infinity}}')
    assert read_json(path) == {"a": None, "b": [1.5, None, None], "c": {"d": None}}


def test_read_json_errors_name_the_file(tmp_path: Path):
    path = tmp_path / "details.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(DataError, match=r"details\.json: not UTF-8"):
        read_json(path)
    path.write_text("")
    with pytest.raises(DataError, match=r"details\.json: malformed JSON at line 1 column 1"):
        read_json(path)


def test_direct_files_win_and_subfolders_are_sorted(tmp_path: Path):
    for name in ("b-run", "a-run", ".hidden"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(minimal_results()))
    (tmp_path / "c-empty").mkdir()
    assert [c.name for c in load_cohorts(tmp_path)] == ["a-run", "b-run"]
    (tmp_path / "details.json").write_text(json.dumps(minimal_details(["a", "b"], title="  ")))
    [cohort] = load_cohorts(tmp_path)
    assert cohort.title == tmp_path.name and cohort.details.title == "  " and cohort.results is None


def test_values_are_tolerant():
    assert num(None) is None and num(True) is None and num("0.5") is None and num(float("nan")) is None
    assert num(3) == 3.0 and fmt(None) == "–" and fmt(0.91234) == "0.912"
    assert level_items({"1.0": "c", "0.25": "b", "10": "d", "0.0": "a", "x": "skip"}) == [
        (0.0, "a"),
        (0.25, "b"),
        (1.0, "c"),
        (10.0, "d"),
    ]
    patterns = ["a+b+c", "b", "a+c", "a", "a+b"]
    assert sorted(patterns, key=pattern_sort_key) == ["a", "b", "a+b", "a+c", "a+b+c"]
    assert ordered(["m2", "m1"], ["any", "m1", "m3", "m2"], last=["any"]) == ["m2", "m1", "m3", "any"]
