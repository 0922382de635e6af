"""scikit-survival baselines on concatenated, mean-imputed features (survival tasks).

The same inputs as the scikit-learn classification baselines
(:func:`omnifuse.models.features.flat_features`: standardised with training statistics, absent
modalities and unobserved values at the training mean 0, availability indicators appended); the
targets are the dataset's ``y``, a structured array of ``event`` (bool) and ``time`` (float64)
records (:data:`omnifuse.data.labels.SURVIVAL_DTYPE`), the layout scikit-survival takes.

Every survival baseline answers two questions:

* :meth:`SurvivalBaseline.predict_proba`: ``(n, 1)`` risk scores, higher for an earlier event
  (the one column the rest of the package reads for every model, whatever its task);
* :meth:`SurvivalBaseline.predict_survival`: ``(n, len(times))`` survival probabilities at
  chosen times.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis

from omnifuse.data.labels import SURVIVAL_DTYPE
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError, DataError
from omnifuse.models.config import ModelConfig
from omnifuse.models.features import feature_width
from omnifuse.models.registry import registered
from omnifuse.models.sklearn_baselines import SklearnBaseline

SKSURV_PAPER = (
    "Pölsterl 2020, scikit-survival: A Library for Time-to-Event Analysis Built on Top of scikit-learn (JMLR)"
)
RSF_PAPER = f"Ishwaran et al. 2008, Random survival forests (Ann. Appl. Stat.); {SKSURV_PAPER}"


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CoxOptions(_Options):
    """``model`` of ``cox``: the ridge penalty ``alpha`` on the coefficients.

    scikit-survival minimises ``-log partial likelihood + alpha / 2 * ||beta||^2`` (both over
    the training samples), the form of scikit-learn's L2 logistic regression with ``C = 1 /
    alpha``: the default 1 is ``sk-logreg``'s default ``C = 1``.
    """

    alpha: float = Field(1.0, gt=0)


class CoxConfig(ModelConfig):
    """The config of ``cox``: its ``model`` options only."""

    model: CoxOptions = Field(default_factory=CoxOptions)


class RandomSurvivalForestOptions(_Options):
    """``model`` of ``rsf`` (defaults: scikit-survival's).

    ``max_features``: the features tried at each split, ``"sqrt"``/``"log2"`` of their number
    or a fraction of them in (0, 1]. ``n_jobs``: threads for fitting and predicting (1: the
    predictions are bit-for-bit reproducible; more threads sum the trees in any order).
    """

    n_estimators: int = Field(100, ge=1)
    min_samples_leaf: int = Field(3, ge=1)
    max_features: Union[Literal["sqrt", "log2"], Annotated[float, Field(gt=0, le=1)]] = "sqrt"
    n_jobs: int = Field(1, ge=1)


class RandomSurvivalForestConfig(ModelConfig):
    """The config of ``rsf``: its ``model`` options only."""

    model: RandomSurvivalForestOptions = Field(default_factory=RandomSurvivalForestOptions)


class SurvivalBaseline(SklearnBaseline):
    """A scikit-survival estimator on :func:`omnifuse.models.features.flat_features`.

    Built like every baseline, ``(specs, task, n_classes, config)``, for survival tasks only
    (``n_classes`` is 0: survival labels have no classes); the random state of the estimator is
    the ``seed`` given to :meth:`fit`.
    """

    paper = SKSURV_PAPER
    tasks = ("survival",)

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: ModelConfig) -> None:
        name = getattr(self, "name", type(self).__name__)
        if task not in self.tasks:
            raise ConfigError(f"model '{name}' does not support {task} tasks (supports: {', '.join(self.tasks)})")
        super().__init__(specs, task, n_classes, config)

    @abstractmethod
    def make_estimator(self) -> Any:
        """The unfitted scikit-survival estimator (random state: :attr:`seed`)."""

    @property
    def n_features(self) -> int:
        """Width of the flat features: every modality's, then one availability indicator each."""
        return sum(feature_width(self.specs[m]) for m in self.modalities) + len(self.modalities)

    def fit(self, x: np.ndarray, y: np.ndarray, seed: int = 0) -> "SurvivalBaseline":
        """Fit on flat features ``x`` and survival targets ``y`` (``event``/``time`` records).

        Raises:
            DataError: ``x`` is not as wide as the flat features of the modalities, ``y`` is
                not survival targets, or no training sample has an event.
        """
        self.seed = int(seed)
        x = self._features(x)
        targets = _targets(y, len(x), self.name)
        self.estimator = self._fit(self.make_estimator(), x, targets)
        return self

    def _fit(self, estimator: Any, x: np.ndarray, y: np.ndarray) -> Any:
        return estimator.fit(x, y)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, 1)`` risk scores: higher means an earlier event is expected."""
        estimator, x = self._fitted(), self._features(x)
        if not len(x):
            return np.zeros((0, 1))
        return np.asarray(estimator.predict(x), dtype=np.float64).reshape(-1, 1)

    def predict_survival(self, x: np.ndarray, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """``(n, len(times))`` probabilities of no event by each of ``times``.

        The estimator's survival step functions are evaluated at ``times`` (the value at the
        last training time at or before each); times outside the training times the functions
        are defined on are clipped to that range (before the first: the first value, after the
        last: the last value).
        """
        at = np.asarray(times, dtype=np.float64).reshape(-1)
        if not np.isfinite(at).all():
            raise DataError(f"{self.name}: survival times must be finite")
        estimator, x = self._fitted(), self._features(x)
        if not len(x):
            return np.zeros((0, len(at)))
        grid = np.asarray(estimator.unique_times_, dtype=np.float64)
        with np.errstate(over="ignore", under="ignore"):  # S0(t) ** exp(risk) of an extreme risk: 0
            curves = np.asarray(estimator.predict_survival_function(x, return_array=True), dtype=np.float64)
        step = np.searchsorted(grid, np.clip(at, grid[0], grid[-1]), side="right") - 1
        return curves[:, step]

    def accepts(self, estimator: Any) -> bool:
        """Whether a loaded ``estimator`` is this baseline's kind, fitted on features as wide
        as this baseline's modalities give."""
        return type(estimator) is type(self.make_estimator()) and (
            getattr(estimator, "n_features_in_", None) == self.n_features
        )

    def _features(self, x: np.ndarray) -> np.ndarray:
        """``x`` as float64 ``(n, n_features)``; another width is a DataError."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise DataError(
                f"{self.name}: features {x.shape} should be (n, {self.n_features}): the flat features "
                f"of modalities {', '.join(self.modalities)}"
            )
        return x

    def _fitted(self) -> Any:
        if self.estimator is None:
            raise ConfigError(f"model '{self.name}' is not fitted")
        return self.estimator


def _targets(y: np.ndarray, n: int, name: str) -> np.ndarray:
    """``y`` as ``event``/``time`` records, checked: one per sample, at least one event."""
    names = getattr(getattr(y, "dtype", None), "names", None) or ()
    if "event" not in names or "time" not in names or np.ndim(y) != 1:
        raise DataError(f"{name}: targets must be survival (event, time) records, got {getattr(y, 'dtype', type(y))}")
    if len(y) != n:
        raise DataError(f"{name}: {len(y)} survival targets for {n} samples")
    out = np.empty(len(y), dtype=SURVIVAL_DTYPE)
    out["event"], out["time"] = np.asarray(y["event"], dtype=bool), np.asarray(y["time"], dtype=np.float64)
    if not out["event"].any():
        raise DataError(f"{name}: no event among the {len(out)} training samples (all censored); cannot fit")
    return out


@registered
class CoxBaseline(SurvivalBaseline):
    """Ridge-penalised Cox proportional hazards on concatenated, mean-imputed features.

    scikit-survival's ``CoxPHSurvivalAnalysis`` with the ridge penalty ``alpha``
    (:class:`CoxOptions`); survival curves from Breslow's baseline hazard. The risk score is
    the linear predictor ``x @ beta``.

    Why this estimator and not ``CoxnetSurvivalAnalysis`` at one fixed ``alpha``: flat features
    often outnumber the events (GSE7390: 85 features, 40-41 events per training fold), where
    the unpenalised partial likelihood has no finite maximum. The ridge penalty makes it
    strictly convex at every ``alpha`` > 0, and Newton-Raphson with step halving converged on
    all five GSE7390 training folds for ``alpha`` from 0.01 to 1000 (0.001 still gave finite
    coefficients). Coxnet's coordinate descent at one fixed ``alpha`` (no warm-started path)
    stopped with "weights are too large" on all five folds at an elastic-net ``alpha`` of 0.001
    and on one at 0.01 (``l1_ratio`` 0.5, whose ridge part alone matches ``alpha`` ~ 0.8 here).
    The price: each Newton step forms a features x features Hessian, so the cost grows with the
    cube of the number of features (hundreds are fine, thousands are slow), and with more
    features than samples a tiny ``alpha`` can still diverge (a DataError: raise ``alpha``),
    hence the search space starting at 0.1.
    """

    name = "cox"
    search_space = {"model.alpha": {"type": "float", "low": 0.1, "high": 1000.0, "log": True}}
    config_class = CoxConfig

    def make_estimator(self) -> Any:
        return CoxPHSurvivalAnalysis(alpha=self.config.model.alpha)

    def _fit(self, estimator: Any, x: np.ndarray, y: np.ndarray) -> Any:
        alpha = self.config.model.alpha
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                estimator.fit(x, y)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise DataError(
                f"cox: the Newton iterations diverged at model.alpha={alpha:g} ({' '.join(str(exc).split())}); "
                "increase model.alpha"
            ) from None
        if not np.isfinite(estimator.coef_).all():
            raise DataError(f"cox: non-finite coefficients at model.alpha={alpha:g}; increase model.alpha")
        return estimator

    def n_params(self) -> int:
        """Number of fitted coefficients (one per flat feature)."""
        return int(np.size(self._fitted().coef_))


@registered
class RandomSurvivalForestBaseline(SurvivalBaseline):
    """Random survival forest (log-rank splits) on concatenated, mean-imputed features.

    scikit-survival's ``RandomSurvivalForest`` (:class:`RandomSurvivalForestOptions`); the
    risk score is the forest's ``predict``, the sum of its cumulative hazard over the training
    event times (expected number of events), and survival curves are the trees' averaged
    Kaplan-Meier leaves.
    """

    name = "rsf"
    paper = RSF_PAPER
    search_space = {
        "model.n_estimators": {"type": "int", "low": 50, "high": 500, "log": True},
        "model.min_samples_leaf": {"type": "int", "low": 1, "high": 30, "log": True},
        "model.max_features": {"type": "categorical", "choices": ["sqrt", "log2", 0.25, 0.5, 1.0]},
    }
    config_class = RandomSurvivalForestConfig

    def make_estimator(self) -> Any:
        opts = self.config.model
        return RandomSurvivalForest(
            n_estimators=opts.n_estimators,
            min_samples_leaf=opts.min_samples_leaf,
            max_features=opts.max_features,
            n_jobs=opts.n_jobs,
            random_state=self.seed,
        )

    def n_params(self) -> int:
        """Number of tree nodes in the forest."""
        return int(sum(tree.tree_.node_count for tree in self._fitted().estimators_))
