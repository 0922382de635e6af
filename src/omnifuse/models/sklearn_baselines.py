"""scikit-learn baselines on concatenated, mean-imputed features (every neural method is
compared against them)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.models.registry import registered
from omnifuse.training.config import TrainConfig


class SklearnBaseline(ABC):
    """A scikit-learn classifier on :func:`omnifuse.models.features.flat_features`.

    Inputs are standardised with training statistics, absent modalities and unobserved values
    become the training mean (0), and availability indicators are appended.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "baseline"
    paper: ClassVar[str] = "scikit-learn"
    tasks: ClassVar[tuple[str, ...]] = ("binary", "multiclass", "multilabel")

    def __init__(self, task: str, n_classes: int, config: TrainConfig) -> None:
        self.task = task
        self.n_classes = n_classes
        self.config = config
        self.estimator: Any = None

    @classmethod
    def from_dataset(cls, dataset: MultimodalDataset, config: TrainConfig) -> "SklearnBaseline":
        return cls(dataset.task, len(dataset.class_names), config)

    @abstractmethod
    def make_estimator(self) -> ClassifierMixin:
        """The unfitted scikit-learn classifier."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> "SklearnBaseline":
        base = self.make_estimator()
        self.estimator = MultiOutputClassifier(clone(base)) if self.task == "multilabel" else clone(base)
        self.estimator.fit(x, y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` probabilities (independent per label for multilabel tasks)."""
        if self.task == "multilabel":
            return np.stack([_positive(p) for p in self.estimator.predict_proba(x)], axis=1)
        probs = np.zeros((len(x), self.n_classes))
        probs[:, self.estimator.classes_] = self.estimator.predict_proba(x)
        return probs

    def n_params(self) -> int:
        """Number of fitted coefficients (logistic regression) or tree nodes (boosting)."""
        estimators = self.estimator.estimators_ if self.task == "multilabel" else [self.estimator]
        return int(sum(_size(e) for e in estimators))


def _positive(p: np.ndarray) -> np.ndarray:
    return p[:, 1] if p.shape[1] > 1 else np.zeros(len(p))


def _size(estimator: Any) -> int:
    if hasattr(estimator, "coef_"):
        return int(estimator.coef_.size + np.size(estimator.intercept_))
    return int(sum(len(tree.nodes) for stage in getattr(estimator, "_predictors", []) for tree in stage))


@registered
class LogisticRegressionBaseline(SklearnBaseline):
    """L2-regularised logistic regression on concatenated, mean-imputed features."""

    name = "sk-logreg"

    def make_estimator(self) -> ClassifierMixin:
        c = float(self.config.model.get("C", 1.0))
        return LogisticRegression(C=c, max_iter=2000, random_state=self.config.seed)


@registered
class GradientBoostingBaseline(SklearnBaseline):
    """Histogram gradient boosting on concatenated, mean-imputed features."""

    name = "sk-hgb"

    def make_estimator(self) -> ClassifierMixin:
        return HistGradientBoostingClassifier(
            max_iter=int(self.config.model.get("max_iter", 200)),
            learning_rate=float(self.config.model.get("learning_rate", 0.1)),
            random_state=self.config.seed,
        )
