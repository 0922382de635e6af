"""scikit-learn baselines on concatenated, mean-imputed features (every neural method is
compared against them)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import ClassifierMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from omnifuse.data.spec import ModalitySpec
from omnifuse.models.config import ModelConfig, as_config
from omnifuse.models.registry import registered
from omnifuse.tasks import CLASSIFICATION_TASKS


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LogisticRegressionOptions(_Options):
    """``model`` of ``sk-logreg``: the inverse L2 regularisation strength."""

    C: float = Field(1.0, gt=0)


class LogisticRegressionConfig(ModelConfig):
    """The config of ``sk-logreg``: its ``model`` options only."""

    model: LogisticRegressionOptions = Field(default_factory=LogisticRegressionOptions)


class GradientBoostingOptions(_Options):
    """``model`` of ``sk-hgb`` (``max_depth`` None: no limit)."""

    max_iter: int = Field(200, ge=1)
    learning_rate: float = Field(0.1, gt=0)
    max_depth: Optional[int] = Field(None, ge=1)
    l2_regularization: float = Field(0.0, ge=0)


class GradientBoostingConfig(ModelConfig):
    """The config of ``sk-hgb``: its ``model`` options only."""

    model: GradientBoostingOptions = Field(default_factory=GradientBoostingOptions)


class SklearnBaseline(ABC):
    """A scikit-learn classifier on :func:`omnifuse.models.features.flat_features`.

    Inputs are standardised with training statistics, absent modalities and unobserved values
    become the training mean (0), and availability indicators are appended.

    Built like the neural models, ``(specs, task, n_classes, config)`` with ``config`` a
    ``config_class``; the random state of the estimator is the ``seed`` given to :meth:`fit`
    (the trainer's).
    """

    name: ClassVar[str]
    kind: ClassVar[str] = "baseline"
    paper: ClassVar[str] = "scikit-learn"
    tasks: ClassVar[tuple[str, ...]] = CLASSIFICATION_TASKS
    #: Tunable options, full dotted config keys (see :mod:`omnifuse.tuning.space`).
    search_space: ClassVar[dict[str, dict[str, Any]]] = {}
    neural: ClassVar[bool] = False
    uses_encoders: ClassVar[bool] = False
    config_class: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: ModelConfig) -> None:
        self.modalities: tuple[str, ...] = tuple(sorted(specs))
        self.specs = dict(specs)
        self.task = task
        self.n_classes = n_classes
        self.config: Any = as_config(self.config_class, config, getattr(self, "name", type(self).__name__))
        self.seed = 0
        self.estimator: Any = None

    @classmethod
    def from_config(cls, schema: Any, config: ModelConfig) -> "SklearnBaseline":
        """The baseline for the modalities and task of ``schema`` (a dataset or its schema)."""
        return cls(schema.specs, schema.task, len(schema.class_names), config)

    @classmethod
    def from_dataset(cls, dataset: Any, config: ModelConfig) -> "SklearnBaseline":
        return cls.from_config(dataset, config)

    def get_config(self) -> ModelConfig:
        """The config the baseline was built with."""
        return self.config

    @abstractmethod
    def make_estimator(self) -> ClassifierMixin:
        """The unfitted scikit-learn classifier (random state: :attr:`seed`)."""

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> "SklearnBaseline":
        """Fit on flat features ``x`` and labels ``y`` with random state ``seed``."""
        self.seed = int(seed)
        base = self.make_estimator()
        if self.task == "multilabel":
            # one classifier per label; a label constant in training predicts that constant
            self.estimator = [
                clone(base).fit(x, y[:, k]) if len(np.unique(y[:, k])) > 1 else float(y[0, k])
                for k in range(y.shape[1])
            ]
        else:
            self.estimator = clone(base).fit(x, y)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, n_classes)`` probabilities (independent per label for multilabel tasks)."""
        if self.task == "multilabel":
            return np.stack(
                [
                    np.full(len(x), est) if isinstance(est, float) else _positive(est.predict_proba(x), est.classes_)
                    for est in self.estimator
                ],
                axis=1,
            )
        probs = np.zeros((len(x), self.n_classes))
        probs[:, self.estimator.classes_] = self.estimator.predict_proba(x)
        return probs

    def accepts(self, estimator: Any) -> bool:
        """Whether a loaded ``estimator`` has the shape this baseline stores (one estimator,
        or one per label for multilabel tasks)."""
        kind = type(self.make_estimator())
        if self.task == "multilabel":
            return (
                isinstance(estimator, list)
                and len(estimator) == self.n_classes
                and all(isinstance(e, float) or type(e) is kind for e in estimator)
            )
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


@registered
class LogisticRegressionBaseline(SklearnBaseline):
    """L2-regularised logistic regression on concatenated, mean-imputed features."""

    name = "sk-logreg"
    search_space = {"model.C": {"type": "float", "low": 1e-4, "high": 10.0, "log": True}}
    config_class = LogisticRegressionConfig

    def make_estimator(self) -> ClassifierMixin:
        return LogisticRegression(C=self.config.model.C, max_iter=2000, random_state=self.seed)


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
    config_class = GradientBoostingConfig

    def make_estimator(self) -> ClassifierMixin:
        """Options (:class:`GradientBoostingOptions`): ``max_iter`` (200), ``learning_rate``
        (0.1), ``max_depth`` (None = no limit), ``l2_regularization`` (0)."""
        opts = self.config.model
        return HistGradientBoostingClassifier(
            max_iter=opts.max_iter,
            learning_rate=opts.learning_rate,
            max_depth=opts.max_depth,
            l2_regularization=opts.l2_regularization,
            random_state=self.seed,
        )
