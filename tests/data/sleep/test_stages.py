import numpy as np

from omnifuse.data.sleep.hypnogram import RAW_STAGES
from omnifuse.data.sleep.stages import STAGES, consolidate, missing_stages, wake_trim, wake_trim_amount

W, N1, N2, N3, REM = range(5)


def codes(*names: str) -> np.ndarray:
    return np.array([RAW_STAGES.index(n) for n in names])


def test_consolidation_merges_n4_and_drops_movement_and_unscored():
    y = consolidate(codes("W", "N1", "N2", "N3", "N4", "REM", "MOVE", "UNSCORED"))
    assert y.tolist() == [W, N1, N2, N3, N3, REM, -1, -1]
    assert STAGES == ("W", "N1", "N2", "N3", "REM")


def test_missing_stages():
    assert missing_stages(np.array([W, N2, N2, REM])) == ["N1", "N3"]
    assert missing_stages(np.arange(5)) == []


def test_trim_rule_on_constructed_hypnogram():
    # 30 W, 10 N2, 5 REM, 20 W: N_wake = 50, N_second = 10 (N2) -> n_trim = 20 per end
    y = np.array([W] * 30 + [N2] * 10 + [REM] * 5 + [W] * 20)
    assert wake_trim_amount(y) == 20
    start, stop = wake_trim(y)
    assert (start, stop) == (20, len(y) - 20)
    kept = y[start:stop]
    assert kept.tolist() == [W] * 10 + [N2] * 10 + [REM] * 5  # the trailing run (20) is removed entirely


def test_trim_never_cuts_sleep_when_an_edge_run_is_short():
    # 3 W at the start only: the cut stops at the first sleep epoch; the other end gets n_trim
    y = np.array([W] * 3 + [N1] * 2 + [W] * 40 + [N2] * 4 + [W] * 30)
    n_trim = wake_trim_amount(y)  # (73 - 4) // 2 = 34
    assert n_trim == 34
    start, stop = wake_trim(y)
    assert start == 3 and stop == len(y) - 30
    assert (y[start:stop] != W).sum() == (y != W).sum()  # no sleep epoch lost


def test_no_trim_when_wake_is_not_dominant():
    y = np.array([W] * 5 + [N2] * 20 + [W] * 5)
    assert wake_trim_amount(y) == 0 and wake_trim(y) == (0, len(y))


def test_odd_difference_rounds_down():
    y = np.array([W] * 10 + [N2] * 3 + [W] * 10)  # (20 - 3) // 2 = 8
    assert wake_trim(y) == (8, len(y) - 8)


def test_all_wake_leaves_the_middle():
    y = np.full(11, W)
    start, stop = wake_trim(y)
    assert (start, stop) == (5, 6)
