"""The reference patient attributions are measured from: the training mean.

* Neural models (integrated gradients): per modality, 0 for standardised kinds (the
  training mean after standardisation: the "standardised zero"), else the mean over the
  training samples that have the modality (e.g. precomputed embeddings).
* ``sk-logreg``: the mean of the flat training features (linear SHAP's expectation).
* ``sk-stack``: per modality, the mean of its flat features over the training samples that
  have it (its per-modality model was fitted on those).
* ``sk-hgb``: none needed (the trees hold their training cover).

A model predicting on new samples (a bundle, ``FittedModel.on_samples``) has no training
rows: :meth:`AttributionBaselines.from_training` is computed when it is trained and saved
with it (``baselines.json`` of a bundle), and passed back to :func:`explain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from omnifuse.data.collate import SeriesBatch
from omnifuse.data.scaling import SCALED_KINDS
from omnifuse.errors import ConfigError, DataError
from omnifuse.training.fit import FittedModel
from omnifuse.trust.attributions.layout import flat_feature_layout

#: Dense unscaled modalities larger than this (per sample) are not stored (e.g. raw images).
MAX_STORED_WIDTH = 100_000


@dataclass(frozen=True)
class AttributionBaselines:
    """Training means a model's attributions need when its training rows are gone.

    Attributes:
        modalities: neural models: per unstandardised dense modality, its training mean in
            its per-sample shape.
        flat: scikit-learn baselines: ``(F,)`` mean of the flat training features.
        flat_present: ``(F,)`` per flat column, the mean over the training samples that have
            the column's modality (availability columns: over all).
    """

    modalities: dict[str, np.ndarray] = field(default_factory=dict)
    flat: np.ndarray | None = None
    flat_present: np.ndarray | None = None

    @classmethod
    def from_training(cls, fitted: FittedModel) -> "AttributionBaselines":
        """The baselines of ``fitted`` from its context's training rows (empty without any)."""
        ctx = fitted.context
        if not len(ctx.train):
            return cls()
        if not fitted.is_neural:
            flat = ctx.flat()[ctx.train].astype(np.float64)
            return cls(flat=flat.mean(axis=0), flat_present=_present_mean(fitted, flat))
        ds, full = ctx.dataset, ctx.store.full
        out = {}
        for j, name in enumerate(ds.modalities):
            x = full["inputs"][name]
            if ds.specs[name].kind in SCALED_KINDS or not isinstance(x, torch.Tensor) or not x.is_floating_point():
                continue
            if x.shape[1:].numel() > MAX_STORED_WIDTH:
                continue
            rows = ctx.train[ds.mask[ctx.train, j]]
            if len(rows):
                out[name] = x[torch.as_tensor(rows)].double().mean(dim=0).float().numpy()
        return cls(modalities=out)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable (``baselines.json`` of a bundle)."""
        return {
            "modalities": {
                k: {"shape": list(v.shape), "mean": v.reshape(-1).tolist()} for k, v in self.modalities.items()
            },
            "flat": None if self.flat is None else self.flat.tolist(),
            "flat_present": None if self.flat_present is None else self.flat_present.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], source: str = "baselines") -> "AttributionBaselines":
        try:
            modalities = {
                str(k): np.asarray(v["mean"], dtype=np.float32).reshape([int(s) for s in v["shape"]])
                for k, v in dict(state.get("modalities") or {}).items()
            }
            flat = None if state.get("flat") is None else np.asarray(state["flat"], dtype=np.float64)
            present = None if state.get("flat_present") is None else np.asarray(state["flat_present"], dtype=np.float64)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"{source}: malformed attribution baselines ({' '.join(str(exc).split())})") from None
        for name, array in (("flat", flat), ("flat_present", present)):
            if array is not None and (array.ndim != 1 or not np.all(np.isfinite(array))):
                raise DataError(f"{source}: field '{name}': expected a list of finite numbers")
        return cls(modalities=modalities, flat=flat, flat_present=present)


def training_baselines(fitted: FittedModel, stored: AttributionBaselines | None = None) -> dict[str, np.ndarray]:
    """Per modality the integrated-gradients baseline (see the module docstring): 0 for
    standardised kinds and series values, else ``stored`` or the training mean.

    Raises:
        ConfigError: an unstandardised modality without ``stored`` baselines and without
            training samples that have it (e.g. ``fitted.on_samples(...)``).
    """
    ctx = fitted.context
    ds, full = ctx.dataset, ctx.store.full
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(ds.modalities):
        spec, x = ds.specs[name], full["inputs"][name]
        if isinstance(x, SeriesBatch):
            out[name] = np.zeros(x.values.shape[-1], dtype=np.float32)
            continue
        if not isinstance(x, torch.Tensor):
            continue
        if spec.kind in SCALED_KINDS:
            out[name] = np.zeros(tuple(x.shape[1:]), dtype=np.float32)
            continue
        if stored is not None and name in stored.modalities:
            out[name] = stored.modalities[name]
            continue
        rows = ctx.train[ds.mask[ctx.train, j]] if len(ctx.train) else ctx.train
        if not len(rows):
            raise ConfigError(
                f"attribution baseline of modality '{name}' (kind {spec.kind}) needs training samples "
                "that have it; pass baselines=training_baselines(<the fitted model on its training data>) "
                "(a bundle saved before attribution baselines were stored: train it again)"
            )
        out[name] = x[torch.as_tensor(rows)].double().mean(dim=0).float().numpy()
    return out


def _present_mean(fitted: FittedModel, flat: np.ndarray) -> np.ndarray:
    """Per flat column, the mean over training rows having the column's modality."""
    ds, train = fitted.context.dataset, fitted.context.train
    columns = [m for m, _ in flat_feature_layout(ds)]
    out = flat.mean(axis=0)
    for j, name in enumerate(ds.modalities):
        rows = ds.mask[train, j]
        cols = [c for c, m in enumerate(columns) if m == name]
        if rows.any() and cols:
            out[cols] = flat[rows][:, cols].mean(axis=0)
    return out
