"""A simulated cohort where one known feature carries all the signal."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.data.simulate import SimModality, make_lowquality
from omnifuse.data.splits import train_val_test_indices
from omnifuse.training.fit import SplitContext

PLANTED = ("labs", "labs_3")


@pytest.fixture(scope="session")
def planted():
    """400 samples, three modalities of pure noise (informativeness 0) with absences, a time
    series among them; then feature ``labs_3`` is overwritten with the label plus noise."""
    mods = (
        SimModality("labs", "tabular", 8, 0.0, missing_rate=0.0),
        SimModality("omics", "omics", 6, 0.0, missing_rate=0.3),
        SimModality("vitals", "timeseries", 3, 0.0, missing_rate=0.3),
    )
    ds, _ = make_lowquality(mods, n_samples=400, seed=0)
    rng = np.random.default_rng(0)
    labs = ds.data["labs"].copy()
    labs[:, 3] = 2.0 * (ds.y - 0.5) + 0.5 * rng.standard_normal(len(ds))
    ds = ds.replace(data={**ds.data, "labs": labs})
    train, val, test = train_val_test_indices(ds, 0.2, 0.2, seed=0)
    return SplitContext(ds, train, val), test
