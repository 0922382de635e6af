"""Per-modality feature selection in front of an encoder, fitted on training samples only.

Small, wide cohorts (a few hundred patients, thousands of omics features) are where a
network overfits most; keeping the features that vary most and that separate the classes
in the *training* fold is the usual remedy. The selection is a layer of the model (a buffer
of kept columns), so a saved bundle and the server apply exactly the training fold's choice
to full-width inputs.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Optional

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.feature_selection import f_classif

from omnifuse.utils.validation import validation_message
from omnifuse.data.spec import VECTOR_KINDS, ModalitySpec
from omnifuse.encoders.base import Encoder
from omnifuse.errors import ConfigError


class SelectionOptions(BaseModel):
    """``select.<modality or kind>`` of the config.

    Attributes:
        variance_keep: share of the features with the largest training variance kept first
            (raw units, before standardisation), e.g. 0.5.
        top_k: then keep the ``top_k`` features with the largest univariate ANOVA F statistic
            against the label on training samples that have the modality.
    """

    model_config = ConfigDict(extra="forbid")

    variance_keep: Optional[float] = Field(None, gt=0, le=1)
    top_k: Optional[int] = Field(None, ge=1)

    def kept(self, n_features: int) -> int:
        """How many of ``n_features`` columns survive both filters."""
        keep = n_features
        if self.variance_keep is not None:
            keep = max(1, int(round(self.variance_keep * keep)))
        if self.top_k is not None:
            keep = min(keep, self.top_k)
        return keep


def selection_for(spec: ModalitySpec, select: Mapping[str, Any]) -> SelectionOptions | None:
    """The selection options of modality ``spec`` (``select[name]``, else ``select[kind]``)."""
    raw = select.get(spec.name, select.get(spec.kind))
    if raw is None:
        return None
    where = f"select.{spec.name if spec.name in select else spec.kind}"
    if spec.kind not in VECTOR_KINDS:
        raise ConfigError(
            f"{where}: feature selection applies to vector modalities "
            f"({', '.join(sorted(VECTOR_KINDS))}), not {spec.kind}"
        )
    try:
        options = SelectionOptions.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, "config", prefix=where, label="key")) from None
    return options if options.kept(spec.n_features) < spec.n_features else None


class SelectedEncoder(Encoder):
    """``inner`` applied to the kept columns of a ``(B, input_dim)`` input.

    ``columns`` starts as the first ``keep`` positions; :func:`fit_columns` sets it from the
    training fold. Stored with the weights, so a reloaded model selects the same columns.
    """

    columns: torch.Tensor  # buffer registered in __init__

    def __init__(self, inner: Encoder, input_dim: int, options: SelectionOptions) -> None:
        super().__init__()
        self.inner = inner
        self.input_dim = input_dim
        self.options = options
        self.output_dim = inner.output_dim
        self.register_buffer("columns", torch.arange(options.kept(input_dim), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.reshape(x.shape[0], -1)[:, self.columns])

    def auxiliary_losses(self, x: Any, present: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.inner.auxiliary_losses(x.reshape(x.shape[0], -1)[:, self.columns], present)

    def fit_columns(self, raw_std: torch.Tensor | None, x: torch.Tensor, y: torch.Tensor, task: str) -> None:
        """Choose the kept columns from training rows ``x`` (standardised, present only),
        their labels ``y`` and the features' raw training std (variance filter)."""
        candidates = torch.arange(self.input_dim)
        if self.options.variance_keep is not None and raw_std is not None:
            n_keep = max(1, int(round(self.options.variance_keep * self.input_dim)))
            candidates = torch.argsort(-raw_std.float(), stable=True)[:n_keep]
        keep = len(self.columns)
        if keep < len(candidates):
            xs = x[:, candidates].double().numpy()
            labels = y.numpy()
            if task == "multilabel":
                scores = sum(_f_scores(xs, labels[:, k]) for k in range(labels.shape[1]))
            else:
                scores = _f_scores(xs, labels)
            order = torch.argsort(-torch.as_tensor(scores), stable=True)[:keep]
            candidates = candidates[order]
        self.columns.copy_(torch.sort(candidates[:keep]).values)


def _f_scores(x: Any, y: Any) -> Any:
    """ANOVA F per column; a constant column or a single class scores 0."""
    if len(np.unique(y)) < 2:
        return np.zeros(x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        f, _ = f_classif(x, y)
    return np.nan_to_num(f, nan=0.0, posinf=0.0)
