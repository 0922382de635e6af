import pytest

from omnifuse.data.simulate import default_cohort


@pytest.fixture(scope="session")
def cohort3():
    """The simulated 3-modality demo cohort (300 samples), shared by the training tests."""
    ds, truth = default_cohort(3, seed=0, n_samples=300)
    return ds
