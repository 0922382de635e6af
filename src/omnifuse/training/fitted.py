"""A trained model and the split it was trained on: what every command predicts with.

:class:`SplitContext` holds a dataset standardised with its training statistics;
:class:`FittedModel` a trained model on such a context, with its post-hoc uncertainty
(temperature, conformal sets: :mod:`omnifuse.training.posthoc`) and, for survival, its
readout.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.scaling import Standardizer
from omnifuse.errors import ConfigError
from omnifuse.models.features import flat_features
from omnifuse.models.output import ModelOutput
from omnifuse.survival.readout import SurvivalReadout
from omnifuse.tasks import probabilities
from omnifuse.training.batches import TensorStore
from omnifuse.training.config import RunConfig
from omnifuse.training.sequences import sequence_outputs
from omnifuse.uncertainty.calibration import TemperatureScaler, logits_from_probs
from omnifuse.uncertainty.conformal import ConformalClassifier


class SplitContext:
    """A dataset standardised with statistics of ``train`` only, collated once.

    Shared by every method trained on the same split (benchmarks), so nothing that does not
    change between methods is rebuilt.
    """

    def __init__(
        self,
        dataset: MultimodalDataset,
        train: np.ndarray,
        val: np.ndarray | None = None,
        scaler: Standardizer | None = None,
    ) -> None:
        self.dataset = dataset
        self.train = np.asarray(train, dtype=np.int64)
        self.val = None if val is None else np.asarray(val, dtype=np.int64)
        self.scaler = scaler if scaler is not None else Standardizer.fit(dataset, self.train)
        self.store = TensorStore(self.scaler.transform(dataset))
        self._flat: np.ndarray | None = None

    def with_dataset(self, dataset: MultimodalDataset) -> "SplitContext":
        """The same split and scaler over another version of the dataset (e.g. corrupted
        test samples): statistics are never refitted on corrupted data."""
        return SplitContext(dataset, self.train, self.val, scaler=self.scaler)

    def resplit(self, train: np.ndarray, val: np.ndarray | None) -> "SplitContext":
        """Other training/validation positions over the same standardised tensors (the
        scaler is kept: ensemble members differ in their validation carving only)."""
        other = copy.copy(self)
        other.train = np.asarray(train, dtype=np.int64)
        other.val = None if val is None else np.asarray(val, dtype=np.int64)
        return other

    def flat(self) -> np.ndarray:
        """Flat, mean-imputed features of every sample (for scikit-learn baselines)."""
        if self._flat is None:
            full = self.store.full
            self._flat = flat_features(full["inputs"], full["mask"], self.dataset.modalities).numpy()
        return self._flat


@dataclass
class FittedModel:
    """A trained model with what it needs to predict on new samples of the same cohort.

    ``config`` is the run's: the trainer's half and the model's (``config.model`` is the
    model's :meth:`get_config`). Survival models carry a ``readout`` (fitted on the training
    samples) that turns their outputs into risks and survival curves. ``calibration`` (a
    temperature) and ``conformal`` (prediction sets) are fitted on the validation samples
    after training when the config asks for them (:func:`omnifuse.training.posthoc.fit_posthoc`);
    with a temperature every probability this model gives is calibrated.
    """

    name: str
    model: Any
    config: RunConfig
    context: SplitContext
    train_seconds: float
    best_epoch: int = -1
    history: dict[str, Any] = field(default_factory=dict)
    readout: SurvivalReadout | None = None
    calibration: TemperatureScaler | None = None
    conformal: ConformalClassifier | None = None

    @property
    def is_neural(self) -> bool:
        return isinstance(self.model, nn.Module)

    def n_params(self) -> int:
        if self.is_neural:
            return int(sum(p.numel() for p in self.model.parameters()))
        return self.model.n_params()

    def predict_proba(self, index: np.ndarray) -> np.ndarray:
        """Probabilities for dataset positions ``index`` of the context's dataset (calibrated
        when the model carries a temperature)."""
        return self.calibrated(self.raw_proba(index))

    def raw_proba(self, index: np.ndarray) -> np.ndarray:
        """The model's own probabilities for positions ``index`` (no temperature applied)."""
        index = np.asarray(index, dtype=np.int64)
        if not self.is_neural:
            return self.model.predict_proba(self.context.flat()[index])
        task = self.context.dataset.task
        out = [probabilities(o.logits, task) for o in self.outputs(index)]
        return torch.cat(out).numpy() if out else np.zeros((0, len(self.context.dataset.class_names) or 1))

    def calibrated(self, probs: np.ndarray) -> np.ndarray:
        """``probs`` of this model with its temperature applied (unchanged without one)."""
        if self.calibration is None or not len(probs):
            return probs
        task = self.calibration.task
        return self.calibration.apply(logits_from_probs(probs, task)).astype(probs.dtype, copy=False)

    def predict_sets(self, index: np.ndarray) -> np.ndarray:
        """``(n, C)`` bool conformal prediction sets for positions ``index``: the threshold of
        each sample's availability pattern (pooled where its pattern had too few
        calibration samples).

        Raises:
            ConfigError: the model has no conformal calibration (``--set conformal=0.9``).
        """
        if self.conformal is None:
            raise ConfigError(f"model '{self.name}' has no conformal calibration (train it with --set conformal=0.9)")
        index = np.asarray(index, dtype=np.int64)
        patterns = self.context.dataset.pattern_names()[index]
        return self.conformal.predict_sets(self.predict_proba(index), patterns)

    def predict_risk(self, index: np.ndarray) -> np.ndarray:
        """``(n,)`` risk scores of a survival model (higher: the event is expected sooner)."""
        return self._survival_readout().risk(self.predict_proba(index))

    def predict_survival(self, index: np.ndarray, times: np.ndarray | list[float]) -> np.ndarray:
        """``(n, len(times))`` survival probabilities of a survival model at ``times``."""
        readout = self._survival_readout()
        index = np.asarray(index, dtype=np.int64)
        if readout.head == "estimator":
            return self.model.predict_survival(self.context.flat()[index], np.asarray(times, dtype=np.float64))
        return readout.survival(self.predict_proba(index), times)

    def _survival_readout(self) -> SurvivalReadout:
        if self.readout is None:
            raise ConfigError(f"model '{self.name}' is not a survival model: it has no risks or survival curves")
        return self.readout

    def outputs(self, index: np.ndarray, chunk: int = 1024) -> Iterator[ModelOutput]:
        """Model outputs (eval mode, no gradients) for dataset positions ``index``, in chunks."""
        if self.model.training:  # eval() walks every submodule: skip it when already in eval mode
            self.model.eval()
        length = getattr(self.model, "sequence_length", None)
        if length:  # sequence-to-sequence: windows of consecutive epochs give the context
            with torch.no_grad():
                yield sequence_outputs(
                    self.model, self.context.store, list(self.context.dataset.sample_ids), index, length
                )
            return
        with torch.no_grad():
            for start in range(0, len(index), chunk):
                batch = self.context.store.batch(index[start : start + chunk])
                yield self.model(batch["inputs"], batch["mask"])

    def on_dataset(self, dataset: MultimodalDataset) -> "FittedModel":
        """This trained model predicting on another version of its dataset (same samples,
        e.g. with test-time corruption); training statistics are kept."""
        return replace(self, context=self.context.with_dataset(dataset))

    def on_samples(self, dataset: MultimodalDataset, scaler_context: "SplitContext | None" = None) -> "FittedModel":
        """This trained model predicting on other samples with the same modalities (a test
        set, corrupted or not); the training standardisation is kept.

        Pass ``scaler_context`` (a context built by an earlier call for the same dataset and
        scaler) to share its collated tensors between models.
        """
        context = (
            scaler_context
            if scaler_context is not None
            else SplitContext(dataset, np.arange(0), scaler=self.context.scaler)
        )
        return replace(self, context=context)

    def predict_details(self, index: np.ndarray) -> "PredictionDetails":
        """Probabilities plus per-modality probabilities, weights and which modalities were
        absent and imputed, for dataset positions ``index``."""
        return _details(self, np.asarray(index, dtype=np.int64))


@dataclass
class PredictionDetails:
    """Per-sample outputs for reports and serving.

    Attributes:
        probs: ``(n, C)`` class probabilities.
        modality_probs: per modality ``(n, C)`` probabilities of its unimodal head (if any).
        weights: ``(n, M)`` per-sample modality weights (omega, attention, gates) or None.
        absent: ``(n, M)`` True where the sample lacks the modality.
        imputed: ``(n, M)`` True where an absent modality's embedding was imputed.
        spread: ``(n, C)`` standard deviation of the probabilities over ensemble members
            (None for a single model).
    """

    probs: np.ndarray
    modality_probs: dict[str, np.ndarray]
    weights: np.ndarray | None
    absent: np.ndarray
    imputed: np.ndarray
    spread: np.ndarray | None = None


def _details(fitted: "FittedModel", index: np.ndarray) -> PredictionDetails:
    ds = fitted.context.dataset
    absent = ~ds.mask[index]
    if not fitted.is_neural:
        return PredictionDetails(fitted.predict_proba(index), {}, None, absent, np.zeros_like(absent))
    task = ds.task
    probs: list[torch.Tensor] = []
    weights: list[torch.Tensor] = []
    spread: list[torch.Tensor] = []
    per_mod: dict[str, list[torch.Tensor]] = {m: [] for m in ds.modalities}
    for out in fitted.outputs(index):
        probs.append(probabilities(out.logits, task))
        if out.spread is not None:
            spread.append(out.spread)
        if out.weights is not None:
            weights.append(out.weights)
        for m, logits in out.modality_logits.items():
            per_mod[m].append(probabilities(logits, task))
    imputes = bool(getattr(fitted.model, "imputes_absent", False))
    return PredictionDetails(
        probs=fitted.calibrated(torch.cat(probs).numpy()),
        modality_probs={m: torch.cat(v).numpy() for m, v in per_mod.items() if v},
        weights=torch.cat(weights).numpy() if weights else None,
        absent=absent,
        imputed=absent & imputes,
        spread=torch.cat(spread).numpy() if spread else None,
    )
