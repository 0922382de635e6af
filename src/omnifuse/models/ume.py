"""``ume``: a uni-modal ensemble, each modality trained on its own, combined on held-out logits.

Du et al. (ICML 2023) show that when modalities compete in joint training (one modality's
gradient drowns another's features), training every modality's network on its own and
combining the unimodal predictions (Uni-Modal Ensemble) beats joint training. Here:

* **Gradient isolation.** One network holds an encoder and a head per modality; every
  encoder only ever receives its own head's loss (the training module's unimodal loss,
  ``unimodal_weight``). The prediction used during training is the mean of the *detached*
  unimodal logits, so the task loss sends no gradient into any encoder.
* **Each modality keeps its own best epoch.** :class:`~omnifuse.models.ume_training.UnimodalSelection`, the model's
  training hook, scores every head on the validation samples that have its modality (AUROC,
  or the loss when the AUROC is undefined) after every epoch, keeps an in-memory snapshot of
  the best encoder + head per modality, keeps training while any modality still improves
  within the trainer's patience (and stops once none does), and at the end of training
  restores every modality's own best snapshot.
* **The combiner** is then fitted once, on logits the networks did not train on: the
  validation samples' (the samples that also chose each modality's epoch), one combiner per
  availability pattern, like ``sk-stack`` (``model.combine``): ``pool`` (default) log-linear
  pooling, one non-negative weight per modality on its log-probabilities plus class biases
  (for binary tasks a logistic regression on the unimodal logits with weights >= 0);
  ``stack`` a logistic regression on all unimodal scores (per class and modality, signs
  free); ``auroc`` weights proportional to each modality's validation AUROC above 0.5;
  ``mean`` the mean of the present modalities' logits. Both regressions are L2-penalised
  (``model.combiner_C``, scikit-learn's C). ``model.combiner_data: train`` fits the combiner on
  the training samples' logits instead (they overfit; kept for the comparison in
  BENCHMARKS.md).

By default the networks of dense modalities (tables, omics, embeddings) are linear (a linear
encoder and head: ``model.linear_dense``, ``head_hidden: 0``), so on tables a member is an
L2-regularised logistic regression trained by the Lightning loop; other kinds keep their
encoders (``encoders.<kind>`` applies as for every model). Chosen on inner folds of
``brca_recurrence`` (BENCHMARKS.md, "Small-cohort defaults", the ``ume`` subsection).

Absent modalities: a patient is scored by the combiner of its availability pattern from
the modalities it has (their columns only, nothing imputed); a pattern without a combiner
(fewer than :data:`MIN_COMBINER_SAMPLES` validation samples, or a class missing among them)
falls back to the mean of its present modalities' logits. The combiner lives in buffers, so
the model rebuilt from its config and loaded from its ``state_dict`` (a bundle) predicts
exactly as trained. Binary and multiclass tasks.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders.factory import default_encoder_type
from omnifuse.encoders.mlp import MLPEncoder
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import EncodedConfig, ModelConfig
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.output import ModelOutput
from omnifuse.tasks import SINGLE_LABEL_TASKS

#: Up to this many modalities a combiner is kept for every availability pattern; above,
#: only for the complete one (the others average their present modalities' logits).
ALL_PATTERNS_UP_TO = 8
#: A pattern's fitted combiner (pool, stack) needs at least this many samples that have its modalities.
MIN_COMBINER_SAMPLES = 10


class UmeOptions(BaseModel):
    """``model`` of ``ume``: how the unimodal predictions are combined."""

    model_config = ConfigDict(extra="forbid")

    #: "stack": ridge logistic regression on the unimodal scores; "pool": one non-negative
    #: weight per modality on its log-probabilities plus class biases (log-linear pooling,
    #: the same L2 penalty; for binary tasks a stack whose weights are kept >= 0); "auroc": weights
    #: proportional to validation AUROC - 0.5; "mean": mean of the present logits.
    combine: Literal["pool", "stack", "auroc", "mean"] = "pool"
    #: Inverse L2 strength of the pool and stack regressions (smaller: weights shrunk towards 0).
    combiner_C: float = Field(100.0, gt=0)
    #: Samples the combiner is fitted on: "val" (not trained on) or "train" (overfit).
    combiner_data: Literal["val", "train"] = "val"
    #: Each modality keeps its own best validation epoch (else the run's best epoch for all).
    per_modality_best: bool = True
    #: Dense modalities (tabular, omics, embedding) whose encoder options set neither a
    #: ``type`` nor ``hidden`` get a linear encoder (an MLP with ``hidden: []``).
    linear_dense: bool = True


class UmeConfig(EncodedConfig):
    """The config of ``ume``: encoders, per-modality heads (``head_hidden``, default 0: a
    linear head) and ``model`` (:class:`UmeOptions`). ``unimodal_weight`` (default 1) scales
    the heads' loss, the only loss the encoders receive."""

    head_hidden: int = Field(0, ge=0)
    unimodal_weight: float = Field(1.0, gt=0)
    model: UmeOptions = Field(default_factory=UmeOptions)


class UniModalEnsemble(MultimodalModel):
    """Uni-modal ensemble: each modality's network trained alone, pooled by weights fitted on held-out logits."""

    name = "ume"
    kind = "model"
    paper = "Du et al., On Uni-Modal Feature Learning in Supervised Multi-Modal Learning, ICML 2023 (UME)"
    tasks: ClassVar[tuple[str, ...]] = SINGLE_LABEL_TASKS
    search_space: ClassVar[dict[str, dict[str, Any]]] = {
        "model.combiner_C": {"type": "float", "low": 1e-2, "high": 1000.0, "log": True},
    }
    config_class: ClassVar[type[ModelConfig]] = UmeConfig
    config: UmeConfig
    #: The fitted combiner, one slot per availability pattern (see :meth:`pattern_index`):
    #: ``(P, M, K, O)`` weights on the modalities' scores, ``(P, O)`` biases, ``(P,)`` fitted.
    combiner_weight: torch.Tensor
    combiner_bias: torch.Tensor
    combiner_fitted: torch.Tensor

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: UmeConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        config = self.config
        self.encoders = self.build_encoders(config.embed_dim)
        self.heads = nn.ModuleDict(
            {
                m: ClassifierHead(config.embed_dim, n_classes, config.head_hidden, config.dropout)
                for m in self.modalities
            }
        )
        m = len(self.modalities)
        patterns = 2**m if m <= ALL_PATTERNS_UP_TO else 1
        #: Width of one modality's score: 1 for binary (the logit difference), else the log-probabilities.
        self.score_width = 1 if task == "binary" else n_classes
        outputs = 1 if task == "binary" else n_classes
        self.register_buffer("combiner_weight", torch.zeros(patterns, m, self.score_width, outputs))
        self.register_buffer("combiner_bias", torch.zeros(patterns, outputs))
        self.register_buffer("combiner_fitted", torch.zeros(patterns, dtype=torch.bool))

    def build_encoders(self, output_dim: int) -> nn.ModuleDict:
        """The encoders, linear for dense modalities under ``model.linear_dense`` (the config
        itself is left as given: :meth:`get_config` returns what the model was built from)."""
        if not self.config.model.linear_dense:
            return super().build_encoders(output_dim)
        given = self.config
        self.config = given.model_copy(update={"encoders": _linear_dense(self.specs, given.encoders)})
        try:
            return super().build_encoders(output_dim)
        finally:
            self.config = given

    # ------------------------------------------------------------------ forward
    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        embeddings, losses = self.encode(inputs, mask)
        modality_logits = {m: self.heads[m](embeddings[m]) for m in self.modalities}
        stacked = torch.stack([modality_logits[m] for m in self.modalities], dim=1)  # (B, M, C)
        present = mask.bool()
        if self.training:
            stacked = stacked.detach()  # the task loss reaches no encoder: each learns from its own head only
        logits, weights = _mean_present(stacked, present)
        if not self.training and bool(self.combiner_fitted.any()):
            logits, weights = self._combine(stacked, present, logits, weights)
        return ModelOutput(logits, modality_logits, weights, losses, embeddings)

    def scores(self, modality_logits: torch.Tensor) -> torch.Tensor:
        """``(B, M, K)`` the combiner's inputs from ``(B, M, C)`` unimodal logits: the logit
        difference for binary tasks (K = 1), the log-probabilities otherwise (K = C)."""
        if self.task == "binary":
            return (modality_logits[..., 1] - modality_logits[..., 0]).unsqueeze(-1)
        return torch.log_softmax(modality_logits, dim=-1)

    def pattern_index(self, present: torch.Tensor) -> torch.Tensor:
        """``(B,)`` the combiner slot of each row's availability pattern (-1: none)."""
        present = present.bool()
        if self.combiner_fitted.shape[0] == 1:
            full = present.all(dim=1)
            return torch.where(
                full, torch.zeros_like(full, dtype=torch.long), torch.full_like(full, -1, dtype=torch.long)
            )
        bits = 2 ** torch.arange(present.shape[1], device=present.device)
        return (present.long() * bits).sum(dim=1)

    def _combine(
        self, stacked: torch.Tensor, present: torch.Tensor, logits: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        slot = self.pattern_index(present)
        ok = slot >= 0
        ok[ok.clone()] = self.combiner_fitted[slot[ok]]
        if not bool(ok.any()):
            return logits, weights
        rows = torch.nonzero(ok).flatten()
        w = self.combiner_weight[slot[rows]]  # (R, M, K, O)
        features = self.scores(stacked[rows]) * present[rows].unsqueeze(-1).to(stacked.dtype)
        z = torch.einsum("rmk,rmko->ro", features, w) + self.combiner_bias[slot[rows]]
        if self.task == "binary":
            z = torch.cat([torch.zeros_like(z), z], dim=1)
        logits = logits.clone()
        logits[rows] = z.to(logits.dtype)
        size = w.abs().sum(dim=(2, 3)) * present[rows].to(w.dtype)
        share = size / size.sum(dim=1, keepdim=True).clamp(min=1e-12)
        weights = weights.clone()
        weights[rows] = share.to(weights.dtype)
        return logits, weights

    # ------------------------------------------------------------------ the combiner
    def fit_combiner(
        self, scores: np.ndarray, present: np.ndarray, y: np.ndarray, aurocs: Mapping[str, float] | None = None
    ) -> dict[str, Any]:
        """Fit the combiner of ``model.combine`` on ``(N, M, K)`` unimodal ``scores`` (see
        :meth:`scores`) of samples with availability ``present`` and labels ``y``; returns
        what was fitted (for the run's history)."""
        options = self.config.model
        m = len(self.modalities)
        y = np.asarray(y).astype(np.int64)
        weight = np.zeros(tuple(self.combiner_weight.shape), dtype=np.float64)
        bias = np.zeros(tuple(self.combiner_bias.shape), dtype=np.float64)
        fitted = np.zeros(len(self.combiner_fitted), dtype=np.bool_)
        eye = np.eye(self.score_width, weight.shape[-1]) if self.task != "binary" else np.ones((1, 1))
        strength = _auroc_strength(self.modalities, aurocs)
        summary: dict[str, Any] = {"combine": options.combine, "patterns": {}}
        for slot, subset in self._slots(m):
            if options.combine == "mean":
                weight[slot, list(subset)] = eye / len(subset)
                fitted[slot] = True
            elif options.combine == "auroc":
                s = strength[list(subset)]
                s = s / s.sum() if s.sum() > 0 else np.full(len(subset), 1.0 / len(subset))
                for k, j in enumerate(subset):
                    weight[slot, j] = eye * s[k]
                fitted[slot] = True
            elif options.combine == "pool":
                rows = np.flatnonzero(present[:, list(subset)].all(axis=1))
                needed = 2 if self.task == "binary" else self.n_classes
                if len(rows) < MIN_COMBINER_SAMPLES or len(np.unique(y[rows])) < needed:
                    continue
                w, b = _fit_pool(scores[rows][:, list(subset)], y[rows], self.task, options.combiner_C)
                for k, j in enumerate(subset):
                    weight[slot, j] = eye * w[k]
                bias[slot] = b
                fitted[slot] = True
            else:
                rows = np.flatnonzero(present[:, list(subset)].all(axis=1))
                needed = 2 if self.task == "binary" else self.n_classes  # every class among the rows
                if len(rows) < MIN_COMBINER_SAMPLES or len(np.unique(y[rows])) < needed:
                    continue
                features = scores[rows][:, list(subset)].reshape(len(rows), -1)
                lr = LogisticRegression(C=options.combiner_C, max_iter=2000).fit(features, y[rows])
                coef = lr.coef_.T.reshape(len(subset), self.score_width, -1)  # (|S|, K, O)
                weight[slot, list(subset)] = coef
                bias[slot] = lr.intercept_
                fitted[slot] = True
            if fitted[slot]:
                key = "+".join(self.modalities[j] for j in subset)
                # per modality, the mean weight of a class's score on that class's logit
                own = np.einsum("mkk->m", weight[slot, list(subset)]) / self.score_width
                summary["patterns"][key] = np.round(own, 4).tolist()
        self.combiner_weight.copy_(torch.as_tensor(weight, dtype=self.combiner_weight.dtype))
        self.combiner_bias.copy_(torch.as_tensor(bias, dtype=self.combiner_bias.dtype))
        self.combiner_fitted.copy_(torch.as_tensor(fitted))
        return summary

    def _slots(self, m: int) -> list[tuple[int, tuple[int, ...]]]:
        """``(slot, modality positions)`` of every pattern with a combiner slot."""
        if len(self.combiner_fitted) == 1:
            return [(0, tuple(range(m)))]
        out = []
        for r in range(1, m + 1):
            for subset in itertools.combinations(range(m), r):
                out.append((sum(2**j for j in subset), subset))
        return out


def _linear_dense(specs: Mapping[str, ModalitySpec], encoders: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """``encoders`` with ``hidden: []`` under the name of every modality whose encoder is the
    default MLP without ``hidden`` set (by its name or its kind); idempotent."""
    out = {key: dict(options) for key, options in encoders.items()}
    for name, spec in specs.items():
        options = dict(encoders.get(name, encoders.get(spec.kind, {})))
        type_ = str(options.get("type", default_encoder_type(spec.kind) or "")).lower()
        if type_ == MLPEncoder.name and "hidden" not in options:
            out[name] = {**options, "hidden": []}
    return out


def _fit_pool(scores: np.ndarray, y: np.ndarray, task: str, C: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-linear pooling: ``(M,)`` weights >= 0 and biases minimising ``C`` x the summed
    cross-entropy of ``b + sum_m w_m scores_m`` plus ``|w|^2 / 2`` (scikit-learn's convention).

    ``scores``: ``(N, M, K)``; binary (K = 1): the logit differences, one bias; otherwise the
    log-probabilities, one bias per class."""
    n, m, k = scores.shape
    classes = 2 if task == "binary" else k
    onehot = np.eye(classes)[y.astype(np.int64)]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:m], theta[m:]
        if task == "binary":
            z = scores[:, :, 0] @ w + b[0]
            logits = np.stack([np.zeros(n), z], axis=1)
        else:
            logits = np.einsum("nmk,m->nk", scores, w) + b
        logits = logits - logits.max(axis=1, keepdims=True)
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        residual = np.exp(logp) - onehot  # d loss / d logits
        if task == "binary":
            grad_w = scores[:, :, 0].T @ residual[:, 1]
            grad_b = np.array([residual[:, 1].sum()])
        else:
            grad_w = np.einsum("nmk,nk->m", scores, residual)
            grad_b = residual.sum(axis=0)
        loss = -float((onehot * logp).sum())
        return C * loss + 0.5 * float(w @ w), np.concatenate([C * grad_w + w, C * grad_b])

    n_bias = 1 if task == "binary" else k
    start = np.concatenate([np.full(m, 1.0 / m), np.zeros(n_bias)])
    bounds = [(0.0, None)] * m + [(None, None)] * n_bias
    result = minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return result.x[:m], result.x[m:]


def _mean_present(stacked: torch.Tensor, present: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean of the present modalities' logits (zeros for a row with none) and its weights."""
    weights = present.to(stacked.dtype) / present.to(stacked.dtype).sum(dim=1, keepdim=True).clamp(min=1.0)
    return (stacked * weights.unsqueeze(-1)).sum(dim=1), weights


def _auroc_strength(modalities: tuple[str, ...], aurocs: Mapping[str, float] | None) -> np.ndarray:
    values = [float((aurocs or {}).get(m, float("nan"))) for m in modalities]
    return np.array([max(v - 0.5, 0.0) if np.isfinite(v) else 0.0 for v in values])
