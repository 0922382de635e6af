import numpy as np
import pytest

from omnifuse.data.mimic.discretize import Events, bin_of, discretize, normal_codes, step_times
from omnifuse.data.mimic.variables import CATEGORIES, COLUMNS, NORMAL_VALUES, VAR_INDEX, VARIABLES, value_columns


def col(name: str) -> int:
    return COLUMNS.index(name)


def events(*rows: tuple[int, float, str, float, int]) -> Events:
    """rows: (stay, hours, variable, value or category index, itemid)."""
    stay, hours, var, value, item = zip(*rows)
    return Events(np.array(stay), np.array(hours, dtype=float), np.array([VAR_INDEX[v] for v in var]),
                  np.array(value, dtype=float), np.array(item))  # fmt: skip


def test_76_columns_in_benchmark_order():
    assert len(COLUMNS) == 76 and len(set(COLUMNS)) == 76
    values = value_columns()
    assert len(values) == 59
    assert values[:4] == [
        "Capillary refill rate->0.0", "Capillary refill rate->1.0", "Diastolic blood pressure", "Fraction inspired oxygen",
    ]  # fmt: skip
    assert (
        values[4] == "Glascow coma scale eye opening->To Pain"
        and values[11] == "Glascow coma scale eye opening->2 To pain"
    )
    assert values[24] == "Glascow coma scale total->11" and values[36] == "Glascow coma scale total->8"
    assert values[49:] == ["Glucose", "Heart Rate", "Height", "Mean blood pressure", "Oxygen saturation",
                           "Respiratory rate", "Systolic blood pressure", "Temperature", "Weight", "pH"]  # fmt: skip
    assert list(COLUMNS[59:]) == [f"mask->{v}" for v in VARIABLES]
    assert sum(len(c) for c in CATEGORIES.values()) == 2 + 8 + 12 + 13 + 12


@pytest.mark.parametrize(
    "hours, expected",
    [(0.0, 0), (1e-9, 0), (2.0, 0), (2.001, 1), (4.0, 1), (47.5, 23), (48.0, 23), (-0.5, -1), (48.01, -1)],
)
def test_bins_are_right_closed_two_hour_intervals(hours, expected):
    assert bin_of(np.array([hours]))[0] == expected


def test_hand_computed_example():
    eye = CATEGORIES["Glascow coma scale eye opening"]
    ev = events(
        (0, 0.5, "Heart Rate", 80, 220045),
        (0, 2.0, "Heart Rate", 100, 220045),  # bin 0, later than 80: wins
        (0, 5.0, "Heart Rate", 110, 220045),  # bin 2
        (0, 3.0, "Temperature", 37.0, 223761),  # bin 1
        (0, 1.0, "Glascow coma scale eye opening", eye.index("Spontaneously"), 220739),
        (0, 10.0, "Glascow coma scale eye opening", eye.index("To Pain"), 220739),  # bin 4
        (1, 47.0, "pH", 7.2, 50820),  # second stay: only pH in the last bin
    )
    x = discretize(ev, 2)
    assert x.shape == (2, 24, 76) and x.dtype == np.float32
    hr, mhr = x[0, :, col("Heart Rate")], x[0, :, col("mask->Heart Rate")]
    np.testing.assert_array_equal(hr, [100, 100] + [110] * 22)
    np.testing.assert_array_equal(mhr, [1, 0, 1] + [0] * 21)
    temp = x[0, :, col("Temperature")]
    np.testing.assert_allclose(temp, [36.6] + [37.0] * 23, rtol=1e-6)  # normal value before the first
    spont = x[0, :, col("Glascow coma scale eye opening->Spontaneously")]
    pain = x[0, :, col("Glascow coma scale eye opening->To Pain")]
    np.testing.assert_array_equal(spont, [1, 1, 1, 1] + [0] * 20)
    np.testing.assert_array_equal(pain, [0, 0, 0, 0] + [1] * 20)
    eye_block = x[
        0, :, col("Glascow coma scale eye opening->To Pain") : col("Glascow coma scale eye opening->2 To pain") + 1
    ]
    assert (eye_block.sum(axis=1) == 1).all()  # exactly one category per step
    np.testing.assert_array_equal(x[0, :, col("mask->Glascow coma scale eye opening")], [1, 0, 0, 0, 1] + [0] * 19)
    # never-observed variables: the benchmark's normal values, mask 0
    assert (x[0, :, col("Glascow coma scale motor response->6 Obeys Commands")] == 1).all()
    assert (x[0, :, col("Glascow coma scale total->15")] == 1).all()
    assert (x[0, :, col("Capillary refill rate->0.0")] == 1).all()
    np.testing.assert_allclose(x[0, :, col("Fraction inspired oxygen")], 0.21, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, col("Systolic blood pressure")], 118.0)
    # the second stay: normal pH until its last bin
    np.testing.assert_allclose(x[1, :, col("pH")], [7.4] * 23 + [7.2], rtol=1e-6)
    assert x[1, :, 59:].sum() == 1


def test_same_time_ties_go_to_the_larger_itemid():
    ev = events((0, 1.0, "Glucose", 200, 220621), (0, 1.0, "Glucose", 180, 50931))
    assert discretize(ev, 1)[0, 0, col("Glucose")] == 200
    ev = events((0, 1.0, "Glucose", 180, 50931), (0, 1.0, "Glucose", 200, 220621))  # input order does not matter
    assert discretize(ev, 1)[0, 0, col("Glucose")] == 200


def test_events_outside_the_window_and_nan_are_ignored():
    ev = events(
        (0, -1.0, "Heart Rate", 50, 220045), (0, 49.0, "Heart Rate", 60, 220045), (0, 3.0, "Heart Rate", np.nan, 220045)
    )
    x = discretize(ev, 1)
    np.testing.assert_allclose(x[0, :, col("Heart Rate")], 86.0)
    assert x[0, :, 59:].sum() == 0


def test_normal_codes_match_the_config():
    codes = normal_codes()
    assert codes[VAR_INDEX["Heart Rate"]] == 86.0
    verbal = "Glascow coma scale verbal response"
    assert CATEGORIES[verbal][int(codes[VAR_INDEX[verbal]])] == NORMAL_VALUES[verbal]


def test_step_times_are_bin_ends():
    np.testing.assert_array_equal(step_times(), np.arange(2, 49, 2))
