"""scikit-learn baselines on concatenated, mean-imputed features (every neural method is
compared against them)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.models.registry import registered
from omnifuse.tasks import CLASSIFICATION_TASKS
from omnifuse.training.config import TrainConfig


class SklearnBaseline(ABC):
    """A scikit-learn classifier on :func:`omnifuse.models.features.flat_features`.

    Inputs are standardised with training statistics, absent modalities and unobserved values
    become the training mean (0), and availability indicators are appended.
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "baseline"
    paper: ClassVar[str] = "scikit-learn"
    tasks: ClassVar[tuple[str, ...]] = CLASSIFICATION_TASKS
    #: Tunable options, full dotted config keys (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}
    neural: ClassVar[bool] = False
    uses_encoders: ClassVar[bool] = False

    def __init__(self, task: str, n_classes: int, config: TrainConfig) -> None:
        self.task = task
        self.n_classes = n_classes
        self.config = config
        self.estimator: Any = None
        self.make_estimator()  # a bad option fails here, before any fit

    @classmethod
    def from_dataset(cls, dataset: MultimodalDataset, config: TrainConfig) -> "SklearnBaseline":
        return cls(dataset.task, len(dataset.class_names), config)

    @abstractmethod
    def make_estimator(self) -> ClassifierMixin:
        """The unfitted scikit-learn classifier."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> "SklearnBaseline":
        base = self.make_estimator()
        if self.task == "multilabel":
            # one classifier per label; a label constant in training predicts that constant
            self.estimator = [clone(base).fit(x, y[:, k]) if len(np.unique(y[:, k])) > 1 else float(y[0, k])
                              for k in range(y.shape[1])]
        else:
            self.estimator = clone(base).fit(x, y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` probabilities (independent per label for multilabel tasks)."""
        if self.task == "multilabel":
            return np.stack([np.full(len(x), est) if isinstance(est, float) else _positive(est.predict_proba(x), est.classes_)
                             for est in self.estimator], axis=1)
        probs = np.zeros((len(x), self.n_classes))
        probs[:, self.estimator.classes_] = self.estimator.predict_proba(x)
        return probs

    def accepts(self, estimator: Any) -> bool:
        """Whether a loaded ``estimator`` has the shape this baseline stores (one estimator,
        or one per label for multilabel tasks)."""
        kind = type(self.make_estimator())
        if self.task == "multilabel":
            return isinstance(estimator, list) and len(estimator) == self.n_classes and all(
                isinstance(e, float) or type(e) is kind for e in estimator)
        return type(estimator) is kind

    def n_params(self) -> int:
        """Number of fitted coefficients (logistic regression) or tree nodes (boosting)."""
        estimators = self.estimator if self.task == "multilabel" else [self.estimator]
        return int(sum(_size(e) for e in estimators if not isinstance(e, float)))


def _positive(p: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Probability of label value 1 (constant when training saw a single value)."""
    values = list(classes)
    if 1 in values:
        return p[:, values.index(1)]
    return np.zeros(len(p))


def _size(estimator: Any) -> int:
    if hasattr(estimator, "coef_"):
        return int(estimator.coef_.size + np.size(estimator.intercept_))
    return int(sum(len(tree.nodes) for stage in getattr(estimator, "_predictors", []) for tree in stage))


def _option(config: TrainConfig, key: str, cast: type, default: Any) -> Any:
    """``config.model[key]`` converted with ``cast``; a bad value is a ConfigError."""
    from omnifuse.errors import ConfigError

    value = config.model.get(key, default)
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise ConfigError(f"model.{key}: expected {cast.__name__}, got {value!r}") from None


@registered
class LogisticRegressionBaseline(SklearnBaseline):
    """L2-regularised logistic regression on concatenated, mean-imputed features."""

    name = "sk-logreg"
    search_space = {"model.C": {"type": "float", "low": 1e-4, "high": 10.0, "log": True}}

    def make_estimator(self) -> ClassifierMixin:
        c = _option(self.config, "C", float, 1.0)
        return LogisticRegression(C=c, max_iter=2000, random_state=self.config.seed)


@registered
class GradientBoostingBaseline(SklearnBaseline):
    """Histogram gradient boosting on concatenated, mean-imputed features."""

    name = "sk-hgb"
    search_space = {
        "model.max_depth": {"type": "int", "low": 2, "high": 8},
        "model.learning_rate": {"type": "float", "low": 0.01, "high": 0.3, "log": True},
        "model.l2_regularization": {"type": "float", "low": 1e-4, "high": 10.0, "log": True},
        "model.max_iter": {"type": "int", "low": 50, "high": 400, "log": True},
    }

    def make_estimator(self) -> ClassifierMixin:
        """Options: ``max_iter`` (200), ``learning_rate`` (0.1), ``max_depth`` (None = no
        limit), ``l2_regularization`` (0)."""
        depth = self.config.model.get("max_depth")
        return HistGradientBoostingClassifier(
            max_iter=_option(self.config, "max_iter", int, 200),
            learning_rate=_option(self.config, "learning_rate", float, 0.1),
            max_depth=None if depth is None else _option(self.config, "max_depth", int, None),
            l2_regularization=_option(self.config, "l2_regularization", float, 0.0),
            random_state=self.config.seed,
        )
