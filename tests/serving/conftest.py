"""Fixtures of the serving tests: small trained bundles, and apps serving them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omnifuse.data.loaders import load_dataset
from omnifuse.data.simulate import default_cohort
from omnifuse.data.splits import holdout_indices, train_val_test_indices
from omnifuse.evaluation.metrics import compute_metrics
from omnifuse.serving import load_bundle, save_bundle
from omnifuse.training.fit import SplitContext, fit
from tests.conftest import shared_dataset

FAST = {"max_epochs": 2, "embed_dim": 8, "batch_size": 32}


@pytest.fixture(scope="session")
def sim_dataset():
    """120 simulated patients: ehr (tabular, 20), notes (embedding, 32), vitals (time series, 6)."""
    return default_cohort(3, seed=0, n_samples=120)[0]


def _train(ds, name: str, folder: Path, config: dict, pool: np.ndarray | None = None) -> Path:
    if pool is None:
        train, val, _ = train_val_test_indices(ds, 0.2, 0.2, seed=0)
    else:
        train, val = holdout_indices(ds, pool, 0.2, seed=0)
    fitted = fit(name, SplitContext(ds, train, val), config)
    metrics = compute_metrics(fitted.predict_proba(val), ds.y[val], ds.task)  # as `omnifuse train` stores them
    save_bundle(fitted, folder / "bundle", metrics=metrics)
    return folder


@pytest.fixture(scope="session")
def sim_run(sim_dataset, tmp_path_factory) -> Path:
    """A run directory (RUN/bundle) of OmniFuse trained for 2 epochs on the simulated cohort."""
    return _train(sim_dataset, "omnifuse", tmp_path_factory.mktemp("sim_run"), FAST)


@pytest.fixture(scope="session")
def sim_bundle(sim_run):
    return load_bundle(sim_run / "bundle")


@pytest.fixture(scope="session")
def breast() -> Path:
    return shared_dataset("breast_tcga")


@pytest.fixture(scope="session")
def breast_runs(breast, tmp_path_factory) -> dict[str, Path]:
    """OmniFuse and concat trained for 2 epochs on the train split of TCGA breast cancer."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OMNIFUSE_CACHE", "off")  # session scope: the autouse cache fixture does not apply yet
        ds = load_dataset(breast)
    pool = ds.split_indices("train")
    root = tmp_path_factory.mktemp("breast_runs")
    return {name: _train(ds, name, root / name, {"max_epochs": 2}, pool) for name in ("omnifuse", "concat")}
