"""A toy baseline whose inner-fold score peaks at a known option value, and tiny cohorts."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import BaseEstimator, ClassifierMixin

from omnifuse.data import Labels, ModalitySpec, MultimodalDataset
from omnifuse.models import registry
from omnifuse.models.config import ModelConfig
from omnifuse.models.registry import get_model, registered
from omnifuse.models.sklearn_baselines import SklearnBaseline

PEAK = 0.7


class KnobClassifier(ClassifierMixin, BaseEstimator):
    """Scores feature 0 plus noise growing with ``|knob - PEAK|``: AUROC is best at the peak."""

    def __init__(self, knob: float = 0.0) -> None:
        self.knob = knob

    def fit(self, x: np.ndarray, y: np.ndarray) -> "KnobClassifier":
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        noise = np.random.default_rng(len(x)).normal(size=len(x))
        score = x[:, 0] + 6.0 * abs(self.knob - PEAK) * noise
        p = 1.0 / (1.0 + np.exp(-score))
        return np.stack([1 - p, p], axis=1)


class KnobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    knob: float = 0.0


class KnobConfig(ModelConfig):
    model: KnobOptions = Field(default_factory=KnobOptions)


class KnobBaseline(SklearnBaseline):
    """A toy baseline with one tunable option, ``model.knob``."""

    name = "toy-knob"
    search_space: ClassVar[dict[str, dict[str, Any]]] = {"model.knob": {"type": "float", "low": 0.0, "high": 1.0}}
    config_class = KnobConfig

    def make_estimator(self) -> ClassifierMixin:
        return KnobClassifier(self.config.model.knob)


@pytest.fixture
def toy_model():
    """Registers ``toy-knob`` for one test."""
    get_model("concat")  # load the registry first
    registered(KnobBaseline)
    yield "toy-knob"
    registry.MODELS.unregister("toy-knob")


def signal_cohort(n: int = 90, seed: int = 0, test_share: float = 0.3) -> MultimodalDataset:
    """Two modalities; feature 0 of ``clin`` carries the label; a ``split`` column (train/test)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    clin = rng.normal(size=(n, 3)).astype(np.float32)
    clin[:, 0] += 1.5 * y
    omics = rng.normal(size=(n, 4)).astype(np.float32)
    splits = np.where(np.arange(n) < int(n * test_share), "test", "train")
    return MultimodalDataset(
        specs=[
            ModalitySpec("clin", "tabular", ("a", "b", "c"), (3,)),
            ModalitySpec("omics", "omics", ("g1", "g2", "g3", "g4"), (4,)),
        ],
        data={"clin": clin, "omics": omics},
        mask={"clin": np.ones(n, bool), "omics": rng.random(n) > 0.2},
        labels=Labels("binary", y, ("neg", "pos")),
        sample_ids=[f"s{i}" for i in range(n)],
        splits=splits,
    )


@pytest.fixture
def cohort() -> MultimodalDataset:
    return signal_cohort()
