"""Survival labels in the data layer: the container, the folder format, storage, splits, summary."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data import Labels
from omnifuse.data.labels import SURVIVAL_DTYPE, labels_from_values, survival_from_values
from omnifuse.errors import DataError


# ---------------------------------------------------------------------- the container
def test_survival_labels_container():
    lab = Labels.survival([5.0, 1.5, 3.0, 8.0], [1, 0, True, 0], "days")
    assert lab.task == "survival" and lab.is_survival and len(lab) == 4
    assert lab.y.dtype == SURVIVAL_DTYPE and lab.class_names == () and lab.n_classes == 0
    assert lab.time.dtype == np.float64 and lab.time.tolist() == [5.0, 1.5, 3.0, 8.0]
    assert lab.event.dtype == bool and lab.event.tolist() == [True, False, True, False]
    assert lab.counts() == {"events": 2, "censored": 2}
    assert lab.stratification_key().tolist() == [1, 0, 1, 0]
    sub = lab.take(np.array([3, 0]))
    assert sub.time.tolist() == [8.0, 5.0] and sub.event.tolist() == [False, True] and sub.time_unit == "days"
    assert sub.counts() == {"events": 1, "censored": 1}  # a subset may have any number of events
    assert lab.take(np.array([1, 3])).counts() == {"events": 0, "censored": 2}
    back = Labels.from_dict(lab.to_dict(), lab.y)
    assert back.to_dict() == {"task": "survival", "class_names": [], "time_unit": "days"}
    np.testing.assert_array_equal(back.y, lab.y)


def test_survival_labels_accept_a_sksurv_style_array():
    y = np.array([(True, 2.0), (False, 4.0)], dtype=[("e.tdm", "?"), ("t.tdm", "<f8")])
    raw = np.empty(2, dtype=[("time", "<f8"), ("event", "i8")])  # other field order and dtypes
    raw["time"], raw["event"] = y["t.tdm"], y["e.tdm"]
    lab = Labels("survival", raw, (), "days")
    assert lab.y.dtype == SURVIVAL_DTYPE and lab.event.tolist() == [True, False]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Labels.survival([1.0, -1.0], [1, 0], "days"), r"time of sample 1 is -1.0"),
        (lambda: Labels.survival([1.0, np.nan], [1, 0], "days"), r"time of sample 1 is nan"),
        (lambda: Labels.survival([1.0, 2.0], [1, 2], "days"), r"event of sample 1 is 2"),
        (lambda: Labels.survival([1.0], [1, 0], "days"), r"1 survival times for 2 events"),
        (lambda: Labels.survival([1.0], [1], ""), r"need a time unit"),
        (lambda: Labels("survival", np.zeros(2, np.int64), ()), r"one \(event, time\) record per sample"),
        (lambda: Labels("survival", Labels.survival([1.0], [1], "d").y, ("a",), "d"), r"no classes"),
        (lambda: Labels("binary", np.array([0, 1]), ("0", "1"), "days"), r"time unit only applies to survival"),
    ],
)
def test_survival_labels_refuse_bad_targets(build, message):
    with pytest.raises(DataError, match=message):
        build()


def test_classification_labels_have_no_survival_fields():
    lab = labels_from_values(["0", "1", "1"])
    assert lab.to_dict() == {"task": "binary", "class_names": ["0", "1"]}
    assert lab.time_unit is None and not lab.is_survival
    with pytest.raises(DataError, match="a binary task has no survival times"):
        lab.time


def test_survival_from_values_parses_and_names_rows():
    lab = survival_from_values(["1", 2.5, "3e1"], ["1", "false", 1.0], "weeks")
    assert lab.time.tolist() == [1.0, 2.5, 30.0] and lab.event.tolist() == [True, False, True]
    with pytest.raises(DataError, match=r"^src: row 2, column 'time': negative time -2$"):
        survival_from_values(["1", "-2"], ["1", "0"], "days", source="src")
    with pytest.raises(DataError, match=r"^src: no observed event in column 'event' \(all 2 samples are censored\)"):
        survival_from_values(["1", "2"], ["0", "0"], "days", source="src")
