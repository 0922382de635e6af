"""SurvivalReadout: risks and curves from a survival head's outputs."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.errors import ConfigError, DataError
from omnifuse.survival import breslow_survival
from omnifuse.survival.readout import SurvivalReadout

rng = np.random.default_rng(3)
TIME = rng.exponential(10.0, size=60)
EVENT = rng.random(60) < 0.6
RISK = rng.normal(size=60)


def test_cox_readout_matches_breslow_and_round_trips():
    readout = SurvivalReadout.fit("cox", RISK[:, None], TIME, EVENT, time_unit="days")
    times = np.array([1.0, 5.0, 20.0])
    got = readout.survival(RISK[:5, None], times)
    np.testing.assert_allclose(got, breslow_survival(RISK, TIME, EVENT, RISK[:5], times), rtol=1e-10)
    assert (np.diff(got, axis=1) <= 0).all()
    np.testing.assert_array_equal(readout.risk(RISK[:5, None]), RISK[:5])
    assert len(readout.horizons) == 3 and readout.horizons == sorted(readout.horizons)
    again = SurvivalReadout.from_dict(readout.to_dict())
    np.testing.assert_array_equal(again.survival(RISK[:, None], times), readout.survival(RISK[:, None], times))


def test_logistic_hazard_readout_reads_the_curve_at_times():
    edges = np.array([0.0, 2.0, 5.0])
    curve = np.array([[0.9, 0.5], [0.99, 0.95]])
    readout = SurvivalReadout.fit("logistic_hazard", curve, TIME, EVENT, edges)
    np.testing.assert_allclose(readout.survival(curve, [1.0, 2.0, 6.0]), [[1.0, 0.9, 0.5], [1.0, 0.99, 0.95]])
    risk = readout.risk(curve)
    assert risk[0] > risk[1]  # the patient with the lower curve has the higher risk


def test_readout_refuses_bad_input():
    with pytest.raises(DataError, match="at least one observed event"):
        SurvivalReadout.fit("cox", RISK[:, None], TIME, np.zeros(60, dtype=bool))
    with pytest.raises(ConfigError, match="unknown survival head"):
        SurvivalReadout("weibull")
    with pytest.raises(ConfigError, match="needs the time-bin edges"):
        SurvivalReadout.fit("logistic_hazard", RISK[:, None], TIME, EVENT)
    with pytest.raises(DataError, match="one risk per patient"):
        SurvivalReadout.fit("cox", np.zeros((60, 2)), TIME, EVENT)
