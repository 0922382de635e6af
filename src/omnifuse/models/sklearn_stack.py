"""``sk-stack``: late stacking of per-modality logistic regressions.

One logistic regression per modality is fitted on the samples that have it; a second
logistic regression combines their out-of-fold scores. Absent modalities are handled
natively: a sample is scored by the combiner fitted on exactly its present modalities
(their columns only; nothing is imputed). Stacking per-modality linear models is the bar
multi-omics studies usually report.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from omnifuse.data.spec import ModalitySpec
from omnifuse.models.config import ModelConfig
from omnifuse.models.features import feature_width
from omnifuse.models.registry import registered
from omnifuse.models.sklearn_baselines import SklearnBaseline
from omnifuse.tasks import SINGLE_LABEL_TASKS

#: Up to this many modalities a combiner is fitted for every subset; above, only for the
#: availability patterns seen in training (an unseen one averages its modalities' scores).
ALL_SUBSETS_UP_TO = 8
#: A combiner needs at least this many training samples with the subset present.
MIN_COMBINER_SAMPLES = 10
SEPARATOR = "+"


class StackingOptions(BaseModel):
    """``model`` of ``sk-stack``: the regularisation of the per-modality models and of the combiner."""

    model_config = ConfigDict(extra="forbid")

    C: float = Field(1.0, gt=0)
    combiner_C: float = Field(1.0, gt=0)


class StackingConfig(ModelConfig):
    """The config of ``sk-stack``: its ``model`` options only."""

    model: StackingOptions = Field(default_factory=StackingOptions)


@registered
class StackingBaseline(SklearnBaseline):
    """Late stacking: per-modality logistic regressions combined on their out-of-fold scores."""

    name = "sk-stack"
    tasks = SINGLE_LABEL_TASKS
    search_space = {
        "model.C": {"type": "float", "low": 1e-4, "high": 10.0, "log": True},
        "model.combiner_C": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
    }
    config_class = StackingConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: StackingConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        self.blocks: dict[str, tuple[int, int]] = {}  # modality -> (start, stop) columns of the flat features
        start = 0
        for name in self.modalities:
            width = feature_width(self.specs[name])
            self.blocks[name] = (start, start + width)
            start += width

    def make_estimator(self) -> ClassifierMixin:
        return LogisticRegression(C=self.config.model.C, max_iter=2000, random_state=self.seed)

    def make_combiner(self) -> LogisticRegression:
        return LogisticRegression(C=self.config.model.combiner_C, max_iter=2000)

    # ------------------------------------------------------------------ fitting
    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> "StackingBaseline":
        self.seed = int(seed)
        present = self._present(x)
        names = list(self.blocks)
        base: dict[str, Any] = {}
        oof = np.zeros((len(x), len(names), self._score_width()))
        for j, name in enumerate(names):
            rows = np.flatnonzero(present[:, j])
            if len(rows) == 0 or len(np.unique(y[rows])) < 2:
                continue  # no model for a modality that cannot separate anything in training
            xm = self._columns(x, name)[rows]
            base[name] = self.make_estimator().fit(xm, y[rows])
            oof[rows, j] = self._oof_scores(xm, y[rows])
        fitted = [n in base for n in names]
        usable = present & np.array(fitted)[None, :]
        combiners = {}
        for subset in self._subsets(usable):
            rows = np.flatnonzero(usable[:, list(subset)].all(axis=1))
            if len(rows) < MIN_COMBINER_SAMPLES or len(np.unique(y[rows])) < 2:
                continue
            features = oof[rows][:, list(subset)].reshape(len(rows), -1)
            combiners[SEPARATOR.join(names[k] for k in subset)] = self.make_combiner().fit(features, y[rows])
        prior = np.bincount(y.astype(np.int64), minlength=self.n_classes) / max(len(y), 1)
        self.estimator = {"base": base, "combiners": combiners, "prior": prior.astype(np.float64)}
        return self

    def _oof_scores(self, xm: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Out-of-fold scores of the modality's model on its own training rows."""
        counts = np.bincount(y.astype(np.int64))
        folds = int(min(5, counts[counts > 0].min()))
        if folds < 2:
            return self._scores(self.make_estimator().fit(xm, y), xm)
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        method = "decision_function" if self.task == "binary" else "predict_log_proba"
        scores = cross_val_predict(self.make_estimator(), xm, y, cv=cv, method=method).reshape(len(xm), -1)
        if self.task == "binary" or scores.shape[1] == self.n_classes:
            return scores
        full = np.full((len(xm), self.n_classes), np.log(1e-12))  # classes absent from these rows
        full[:, np.unique(y).astype(np.int64)] = scores
        return full

    def _subsets(self, usable: np.ndarray) -> list[tuple[int, ...]]:
        m = usable.shape[1]
        if m <= ALL_SUBSETS_UP_TO:
            return [s for r in range(1, m + 1) for s in itertools.combinations(range(m), r)]
        return sorted({tuple(np.flatnonzero(row)) for row in usable if row.any()})

    # ------------------------------------------------------------------ prediction
    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        base, combiners = self.estimator["base"], self.estimator["combiners"]
        names = list(self.blocks)
        present = self._present(x) & np.array([n in base for n in names])[None, :]
        scores = np.zeros((len(x), len(names), self._score_width()))
        for j, name in enumerate(names):
            rows = np.flatnonzero(present[:, j])
            if len(rows):
                scores[rows, j] = self._scores(base[name], self._columns(x, name)[rows])
        probs = np.tile(self.estimator["prior"], (len(x), 1))
        patterns = {tuple(np.flatnonzero(row)) for row in present}
        for subset in patterns:
            if not subset:
                continue  # nothing present: the training prior
            rows = np.flatnonzero((present == np.isin(np.arange(len(names)), subset)).all(axis=1))
            key = SEPARATOR.join(names[k] for k in subset)
            if key in combiners:
                combiner = combiners[key]
                p = np.zeros((len(rows), self.n_classes))
                p[:, combiner.classes_] = combiner.predict_proba(scores[rows][:, list(subset)].reshape(len(rows), -1))
            else:  # no combiner for this pattern: the mean of the present modalities' probabilities
                p = np.mean([self._probs(base[names[k]], self._columns(x, names[k])[rows]) for k in subset], axis=0)
            probs[rows] = p
        return probs

    # ------------------------------------------------------------------ helpers
    def _present(self, x: np.ndarray) -> np.ndarray:
        """The availability indicators appended to the flat features (last M columns)."""
        return x[:, -len(self.blocks) :] > 0.5

    def _columns(self, x: np.ndarray, name: str) -> np.ndarray:
        start, stop = self.blocks[name]
        return x[:, start:stop]

    def _score_width(self) -> int:
        return 1 if self.task == "binary" else self.n_classes

    def _scores(self, model: LogisticRegression, xm: np.ndarray) -> np.ndarray:
        if self.task == "binary":
            return model.decision_function(xm).reshape(-1, 1)
        full = np.full((len(xm), self.n_classes), np.log(1e-12))
        full[:, model.classes_] = model.predict_log_proba(xm)
        return full

    def _probs(self, model: LogisticRegression, xm: np.ndarray) -> np.ndarray:
        full = np.zeros((len(xm), self.n_classes))
        full[:, model.classes_] = model.predict_proba(xm)
        return full

    def accepts(self, estimator: Any) -> bool:
        return (
            isinstance(estimator, dict)
            and set(estimator) == {"base", "combiners", "prior"}
            and all(type(e) is LogisticRegression for part in ("base", "combiners") for e in estimator[part].values())
        )

    def n_params(self) -> int:
        parts = list(self.estimator["base"].values()) + list(self.estimator["combiners"].values())
        return int(sum(e.coef_.size + e.intercept_.size for e in parts))
