"""Survival metrics: hand-countable references, defaults inside the follow-up, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.errors import DataError
from omnifuse.survival import (
    breslow_survival,
    brier_times,
    default_horizons,
    harrell_c,
    integrated_brier,
    time_auc,
    uno_c,
)

TIME = np.array([2.0, 5.0, 2.0, 7.0, 1.0, 5.0, 2.0, 9.0, 3.0, 5.0, 4.0, 6.0])
EVENT = np.array([1, 1, 1, 0, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)
RISK = np.array([0.3, -1.2, 0.8, 0.1, -0.4, 0.5, 1.1, -2.0, 0.0, 0.7, 0.5, 0.5])


def brute_force_c(time, event, risk) -> float:
    """Every ordered pair (i, j): comparable when i's event comes first (or at the same time as
    j's censoring); concordant when i has the higher risk, tied risks count one half."""
    concordant = comparable = 0.0
    for i in range(len(time)):
        if not event[i]:
            continue
        for j in range(len(time)):
            if i != j and (time[i] < time[j] or (time[i] == time[j] and not event[j])):
                comparable += 1
                concordant += 1.0 if risk[i] > risk[j] else 0.5 if risk[i] == risk[j] else 0.0
    return concordant / comparable


def cohort(n: int, seed: int, censoring: float = 12.0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    t_event = rng.exponential(np.exp(-x) * 5.0)
    t_cens = rng.uniform(0, censoring, n)
    return np.minimum(t_event, t_cens), t_event <= t_cens, x


def test_harrell_c_matches_a_brute_force_pair_count():
    assert harrell_c(TIME, EVENT, RISK) == pytest.approx(brute_force_c(TIME, EVENT, RISK), abs=1e-12)
    time, event, risk = cohort(80, 1)
    assert harrell_c(time, event, risk) == pytest.approx(brute_force_c(time, event, risk), abs=1e-12)
    assert harrell_c(time, event, -risk) == pytest.approx(1 - harrell_c(time, event, risk), abs=1e-12)
    assert harrell_c(time, event.astype(int), risk) == harrell_c(time, event, risk)  # 0/1 events


def test_one_event_among_censored_works_all_censored_is_an_error():
    event = np.zeros(len(TIME), dtype=bool)
    event[4] = True  # the earliest time: comparable with everyone
    assert harrell_c(TIME, event, RISK) == pytest.approx(brute_force_c(TIME, event, RISK))
    with pytest.raises(
        DataError, match=r"Harrell's C: needs at least one observed event \(all 12 samples are censored\)"
    ):
        harrell_c(TIME, np.zeros(len(TIME), bool), RISK)
    last = np.zeros(len(TIME), dtype=bool)
    last[7] = True  # only the last time is an event: nothing comes after it
    with pytest.raises(DataError, match="no comparable pair"):
        harrell_c(TIME, last, RISK)
    train_time, train_event, _ = cohort(100, 2)
    for metric in (
        lambda: uno_c(train_time, train_event, TIME, np.zeros(12, bool), RISK),
        lambda: time_auc(train_time, train_event, TIME, np.zeros(12, bool), RISK),
    ):
        with pytest.raises(DataError, match="all 12 samples are censored"):
            metric()
    with pytest.raises(DataError, match="horizons \\(training\\): needs at least one observed event"):
        default_horizons(train_time, np.zeros(100, bool), TIME)


def test_bad_shapes_and_values_are_named():
    with pytest.raises(DataError, match="3 risk scores for 12 samples"):
        harrell_c(TIME, EVENT, RISK[:3])
    with pytest.raises(DataError, match="events must be 0 \\(censored\\) or 1"):
        harrell_c(TIME, np.full(12, 2), RISK)
    with pytest.raises(DataError, match="times must be finite and >= 0"):
        harrell_c(-TIME, EVENT, RISK)


def test_default_horizons_are_training_quantiles_inside_the_test_follow_up():
    train_time, train_event, _ = cohort(300, 3, censoring=30.0)
    test_time, test_event, _ = cohort(100, 4, censoring=4.0)  # short follow-up
    q = np.quantile(train_time[train_event], [0.25, 0.5, 0.75])
    h = default_horizons(train_time, train_event, test_time)
    assert np.all(h >= test_time.min()) and np.all(h < test_time.max())
    np.testing.assert_allclose(h[h < test_time.max() * 0.999], q[q < test_time.max() * 0.999])
    wide = default_horizons(train_time, train_event, train_time)
    np.testing.assert_allclose(wide, q)
    grid = brier_times(train_time, train_event, test_time, n=20)
    assert len(grid) == 20 and grid[0] >= test_time.min() and grid[-1] < test_time.max()
    with pytest.raises(DataError, match="leaves no time inside the training follow-up"):
        default_horizons(train_time, train_event, np.array([train_time.max() + 1, train_time.max() + 2]))


def test_uno_c_auc_and_brier_on_a_simulated_cohort():
    train_time, train_event, train_x = cohort(400, 5)
    test_time, test_event, test_x = cohort(200, 6)
    c = uno_c(train_time, train_event, test_time, test_event, test_x)
    assert 0.65 < c < 0.9 and uno_c(train_time, train_event, test_time, test_event, -test_x) < 0.35
    assert c == pytest.approx(
        uno_c(
            train_time,
            train_event,
            test_time,
            test_event,
            test_x,
            tau=default_horizons(train_time, train_event, test_time)[-1],
        )
    )
    auc = time_auc(train_time, train_event, test_time, test_event, test_x)
    assert len(auc.times) == 3 and np.all((auc.auc > 0.6) & (auc.auc < 0.95)) and 0.6 < auc.mean < 0.95
    times = brier_times(train_time, train_event, test_time)
    surv = breslow_survival(train_x, train_time, train_event, test_x, times)
    assert surv.shape == (200, len(times)) and np.all(np.diff(surv, axis=1) <= 1e-12)
    two_d = time_auc(
        train_time,
        train_event,
        test_time,
        test_event,
        1 - breslow_survival(train_x, train_time, train_event, test_x, auc.times),
        auc.times,
    )
    np.testing.assert_allclose(two_d.auc, auc.auc)  # 1 - S(t) ranks like the Cox risk
    good = integrated_brier(train_time, train_event, test_time, test_event, surv, times)
    flat = breslow_survival(np.zeros(400), train_time, train_event, np.zeros(200), times)  # Kaplan-Meier-like
    worse = integrated_brier(train_time, train_event, test_time, test_event, flat, times)
    assert 0 < good < worse < 0.25
    with pytest.raises(DataError, match="integrated Brier score: survival"):
        integrated_brier(train_time, train_event, test_time, test_event, surv[:, :3], times)
    with pytest.raises(DataError, match="time-dependent AUC: all times must be within follow-up"):
        time_auc(train_time, train_event, test_time, test_event, test_x, [test_time.max() + 1])


def test_breslow_survival_matches_the_estimator_written_out():
    train_risk = np.array([0.2, -0.5, 1.0, 0.0, 0.3])
    train_time = np.array([1.0, 3.0, 3.0, 4.0, 6.0])
    train_event = np.array([1, 1, 0, 1, 0], dtype=bool)
    # H0(t) = sum over event times s <= t of d(s) / sum_{time_j >= s} exp(risk_j)
    e = np.exp(train_risk)
    h = {1.0: 1 / e.sum(), 3.0: 1 / e[1:].sum(), 4.0: 1 / e[3:].sum()}
    times = np.array([0.5, 1.0, 3.5, 4.0, 10.0])
    h0 = np.array([0.0, h[1.0], h[1.0] + h[3.0], sum(h.values()), sum(h.values())])
    risk = np.array([0.0, 2.0])
    expected = np.exp(-np.exp(risk)[:, None] * h0[None, :])
    np.testing.assert_allclose(breslow_survival(train_risk, train_time, train_event, risk, times), expected)
    # shifting every risk by a constant changes nothing; a huge risk is 0 survival, not nan
    np.testing.assert_allclose(
        breslow_survival(train_risk + 500, train_time, train_event, risk + 500, times), expected, rtol=1e-9
    )
    extreme = breslow_survival(train_risk, train_time, train_event, np.array([1e4]), times)
    assert extreme.tolist() == [[1.0, 0.0, 0.0, 0.0, 0.0]]
