"""What the report shows beyond metrics, gathered from clean test predictions: confusion
matrices, calibration, per-modality weights, and a t-SNE of original vs imputed embeddings
(Wu et al. 2025 fig. 8). Written as ``details.json``.

Survival tasks get no confusion matrix or reliability diagram: instead every clean test sample
of every repeat is kept with its time, event, predicted risk and predicted survival at its
fold's readout horizons (:class:`~omnifuse.evaluation.documents.SurvivalDetails`), so the
report can draw Kaplan-Meier curves of predicted risk groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

import numpy as np
from sklearn.manifold import TSNE

from omnifuse.data.corrupt import DropPattern
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.tasks import TaskName
from omnifuse.evaluation.documents import (
    Calibration,
    DatasetSummary,
    DetailsDocument,
    Embeddings,
    Hypnogram,
    MethodDetails,
    ModalityWeights,
    SurvivalDetails,
    SurvivalFold,
)
from omnifuse.evaluation.metrics import calibration_curve, confusion_matrix
from omnifuse.training.fit import FittedModel
from omnifuse.training.sequences import recording_positions


class DetailsCollector:
    """Pools clean test predictions of every method over repeats.

    Args:
        dataset: the full cohort (test samples are taken from it by index).
        tsne_samples: complete test samples embedded for the t-SNE (the first repeat that has enough).
        weight_samples: at most this many per-sample weights kept per modality.
        seed: seed of subsampling and t-SNE.
    """

    def __init__(
        self, dataset: MultimodalDataset, tsne_samples: int = 200, weight_samples: int = 2000, seed: int = 0
    ) -> None:
        self.dataset = dataset
        self.tsne_samples = tsne_samples
        self.weight_samples = weight_samples
        self.seed = seed
        self._probs: dict[str, list[np.ndarray]] = {}
        self._y: dict[str, list[np.ndarray]] = {}
        self._weights: dict[str, dict[str, list[np.ndarray]]] = {}
        self._embeddings: dict[str, Embeddings] = {}
        self._hypnogram: Hypnogram | None = None
        self._survival: dict[str, dict[str, list[Any]]] = {}
        self._repeats = 0

    def add(self, fitted: Mapping[str, FittedModel], test: np.ndarray, label: str | None = None) -> None:
        """Predict the clean test samples ``test`` with every model of one repeat (``label``
        names the repeat in survival details; default ``repeat <k>``)."""
        data = self.dataset.subset(np.asarray(test, dtype=np.int64))
        index = np.arange(len(data))
        first_repeat = self._repeats == 0
        label = label if label is not None else f"repeat {self._repeats}"
        self._repeats += 1
        shared: dict[int, Any] = {}
        for name, model in fitted.items():
            on_data = model.on_samples(data, shared.get(id(model.context.scaler)))
            shared[id(model.context.scaler)] = on_data.context
            details = on_data.predict_details(index)
            self._probs.setdefault(name, []).append(details.probs)
            self._y.setdefault(name, []).append(data.y)
            if data.task == "survival":
                self._add_survival(name, model, on_data, data, details.probs, label)
            if details.weights is not None:
                per_modality = self._weights.setdefault(name, {})
                for j, modality in enumerate(data.modalities):
                    per_modality.setdefault(modality, []).append(details.weights[data.mask[:, j], j])
            if first_repeat and _is_epoch_data(data):
                self._add_hypnogram(name, data, details.probs)
            if name not in self._embeddings and bool(getattr(model.model, "imputes_absent", False)):
                embedding = self._tsne(on_data, data)
                if embedding is not None:
                    self._embeddings[name] = embedding

    def _add_survival(
        self,
        name: str,
        model: FittedModel,
        on_data: FittedModel,
        data: MultimodalDataset,
        outputs: np.ndarray,
        label: str,
    ) -> None:
        """Risk and survival at the readout horizons of one repeat's test samples."""
        readout = model.readout
        if readout is None:
            return
        horizons = np.asarray(readout.horizons, dtype=np.float64)
        index = np.arange(len(data))
        risk = readout.risk(outputs)
        if readout.head == "estimator":
            curves = on_data.predict_survival(index, horizons)
        else:
            curves = readout.survival(outputs, horizons)
        train = model.context.train
        risk_median = float(np.median(model.predict_risk(train))) if len(train) else float("nan")
        entry = self._survival.setdefault(name, {k: [] for k in ("folds", "sample_id", "fold", "time", "event")})
        entry.setdefault("risk", [])
        entry.setdefault("survival", [])
        entry["fold"] += [len(entry["folds"])] * len(data)
        entry["folds"].append(SurvivalFold(label=label, horizons=[float(h) for h in horizons], risk_median=risk_median))
        entry["sample_id"] += [str(i) for i in data.sample_ids]
        entry["time"] += [float(t) for t in data.y["time"]]
        entry["event"] += [bool(e) for e in data.y["event"]]
        entry["risk"] += [round(float(r), 6) for r in risk]
        entry["survival"] += [[round(float(v), 6) for v in row] for row in np.asarray(curves).reshape(len(data), -1)]

    def _add_hypnogram(self, name: str, data: MultimodalDataset, probs: np.ndarray) -> None:
        """True and predicted stages over the first test recording (sleep data, first repeat)."""
        recordings, positions = recording_positions(list(data.sample_ids))
        first = sorted(set(recordings.tolist()))[0]
        rows = np.flatnonzero(recordings == first)
        rows = rows[np.argsort(positions[rows])]
        if self._hypnogram is None:
            self._hypnogram = Hypnogram(
                recording=str(first),
                epoch_seconds=30,
                position=positions[rows].tolist(),
                true=data.y[rows].tolist(),
                methods={},
            )
        self._hypnogram.methods[name] = probs[rows].argmax(axis=1).tolist()

    def _tsne(self, model: FittedModel, data: MultimodalDataset) -> Embeddings | None:
        """Embeddings of one modality for complete samples: as encoded, and as imputed when
        that modality is dropped; projected together with t-SNE."""
        complete = np.flatnonzero(data.mask.all(axis=1))
        if len(complete) < 10 or len(data.modalities) < 2:
            return None
        rng = np.random.default_rng(self.seed)
        chosen = np.sort(rng.choice(complete, size=min(len(complete), self.tsne_samples), replace=False))
        target = _most_missing(self.dataset)
        sample = data.subset(chosen)
        others = tuple(m for m in sample.modalities if m != target)
        dropped = DropPattern(others)(sample, rng)
        original = _embeddings(model.on_samples(sample), target)
        imputed = _embeddings(model.on_samples(dropped), target)
        points = np.concatenate([original, imputed])
        perplexity = float(min(30.0, (len(points) - 1) / 3))
        xy = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=self.seed).fit_transform(points)
        if sample.task == "survival":
            labels = sample.y["event"].astype(np.int64)
        else:
            labels = sample.y if sample.y.ndim == 1 else sample.y.argmax(axis=1)
        source = cast(list[Literal["original", "imputed"]], ["original"] * len(original) + ["imputed"] * len(imputed))
        return Embeddings(
            modality=target,
            x=[round(float(v), 4) for v in xy[:, 0]],
            y=[round(float(v), 4) for v in xy[:, 1]],
            source=source,
            label=[int(v) for v in np.concatenate([labels, labels])],
        )

    def document(self, title: str, extra: dict[str, Any] | None = None) -> DetailsDocument:
        """The ``details.json`` document (``extra`` sets further fields such as the ground truth)."""
        ds = self.dataset
        methods: dict[str, MethodDetails] = {}
        rng = np.random.default_rng(self.seed)
        for name, chunks in self._probs.items():
            weights = None
            if name in self._weights:
                values: dict[str, list[float | None]] = {}
                for modality, parts in self._weights[name].items():
                    w = np.concatenate(parts)
                    if len(w) > self.weight_samples:
                        w = rng.choice(w, size=self.weight_samples, replace=False)
                    values[modality] = [round(float(v), 5) for v in w]
                weights = ModalityWeights(name=_weights_name(name), values=values)
            if ds.task == "survival":
                survival = self._survival.get(name)
                methods[name] = MethodDetails(
                    weights=weights,
                    embeddings=self._embeddings.get(name),
                    survival=(
                        SurvivalDetails(time_unit=ds.labels.time_unit, **survival) if survival is not None else None
                    ),
                )
                continue
            probs, y = np.concatenate(chunks), np.concatenate(self._y[name])
            curve = calibration_curve(probs, y, ds.task)
            matrix = confusion_matrix(probs, y, ds.task)
            methods[name] = MethodDetails(
                confusion_matrix=matrix.tolist(),
                per_class_f1=_per_class_f1(matrix, ds.class_names) if ds.task == "multiclass" else {},
                calibration=Calibration(
                    confidence=curve["confidence"].tolist(),
                    accuracy=curve["accuracy"].tolist(),
                    count=[int(c) for c in curve["count"]],
                ),
                weights=weights,
                embeddings=self._embeddings.get(name),
            )
        return DetailsDocument(
            title=title,
            task=cast(TaskName, ds.task),
            classes=list(ds.class_names),
            modalities=list(ds.modalities),
            evaluated_on="clean test samples, pooled over repeats",
            dataset=DatasetSummary.model_validate(ds.summary()),
            hypnogram=self._hypnogram,
            methods=methods,
            **(extra or {}),
        )


def _per_class_f1(matrix: np.ndarray, classes: "tuple[str, ...] | list[str]") -> dict[str, float | None]:
    """F1 of every class from a (C, C) confusion matrix (None for a class never seen or predicted)."""
    tp = np.diag(matrix).astype(float)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1)
    return {str(c): (float(2 * tp[k] / denominator[k]) if denominator[k] else None) for k, c in enumerate(classes)}


def _is_epoch_data(ds: MultimodalDataset) -> bool:
    """Sleep-like data: every sample id is ``<recording>#<position>``."""
    return len(ds) > 0 and all("#" in i and i.rpartition("#")[2].isdigit() for i in ds.sample_ids)


def _weights_name(method: str) -> str:
    return "omega" if method.startswith("omnifuse") else "modality weights"


def _most_missing(ds: MultimodalDataset) -> str:
    """The modality absent most often in the cohort (the one imputation matters most for)."""
    return ds.modalities[int(np.argmax((~ds.mask).sum(axis=0)))]


def _embeddings(model: FittedModel, target: str) -> np.ndarray:
    index = np.arange(len(model.context.dataset))
    return np.concatenate([out.embeddings[target].numpy() for out in model.outputs(index)])
