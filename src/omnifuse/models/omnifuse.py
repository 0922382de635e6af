"""OmniFuse (Wu et al., Information Fusion 2025): encoders, cascade-residual imputation with a backward cycle,
Dynamic Weighted Fuse and Traceable Laziness Activation.

The forward pass computes what needs no label: embeddings, imputation of absent modalities,
the joint prediction ``o`` (eq. 11), unimodal predictions ``g^m`` (eq. 9) and the imputation
losses (eqs. 7-8). Survival tasks use the same heads with a survival output (a Cox log-risk or
logistic hazards): the objective scores them with the task's loss and per-sample score. The label-dependent terms (the task loss weight of eq. 14, DWFuse eq. 12,
TLA eq. 17) come from :class:`omnifuse.models.omnifuse_objective.OmniFuseObjective`, the
strategy every OmniFuse entry is trained with.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from omnifuse.balance.base import Strategy
from omnifuse.data.collate import SeriesBatch
from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError
from omnifuse.fusion.dwfuse import blend, inference_omega
from omnifuse.imputation.cra import CascadeResidualAutoencoder
from omnifuse.imputation.patterns import artificial_availability
from omnifuse.models.base import MultimodalModel
from omnifuse.models.config import ModelConfig
from omnifuse.models.heads import ClassifierHead
from omnifuse.models.omnifuse_config import ABLATION_ROWS, OmniFuseConfig, OmniFuseOptions
from omnifuse.models.omnifuse_objective import OmniFuseObjective
from omnifuse.models.output import ModelOutput
from omnifuse.models.registry import ModelEntry, first_line, register
from omnifuse.tasks import SINGLE_LABEL_TASKS


@dataclass
class FusedOutput:
    """What :meth:`OmniFuseModel.fuse` returns for a set of embeddings and a mask."""

    joint_logits: torch.Tensor
    modality_logits: list[torch.Tensor]
    used: torch.Tensor  # (B, M, D) embeddings after imputation of absent modalities


class OmniFuseModel(MultimodalModel):
    """OmniFuse: CRA imputation with cycle consistency, DWFuse and TLA (Information Fusion 2025)."""

    name = "omnifuse"
    kind = "model"
    paper = "Wu et al., OmniFuse, Information Fusion 2025"
    tasks = (*SINGLE_LABEL_TASKS, "survival")
    #: Around the paper's settings (section 4.3: K = 5, alpha = 0.1, beta = 0.5,
    #: lambdas 1 / 10 / 0.5, chosen there by a grid search around them), a decade each way.
    search_space = {
        "model.lambda1": {"type": "float", "low": 0.1, "high": 10.0, "log": True},
        "model.lambda2": {"type": "float", "low": 1.0, "high": 100.0, "log": True},
        "model.lambda3": {"type": "float", "low": 0.05, "high": 5.0, "log": True},
        "model.alpha": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
        "model.beta": {"type": "float", "low": 0.1, "high": 2.0},
        "model.n_blocks": {"type": "int", "low": 2, "high": 6},
    }
    config_class: ClassVar[type[ModelConfig]] = OmniFuseConfig
    config: OmniFuseConfig

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: OmniFuseConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        config = self.config
        self.options: OmniFuseOptions = config.model
        opts = self.options
        if opts.imp_backward and not opts.imp_forward:
            raise ConfigError("omnifuse: model.imp_backward needs model.imp_forward (the cycle starts from it)")
        if task == "survival" and opts.predict != "joint":
            raise ConfigError("omnifuse: model.predict 'blend' mixes class probabilities; survival tasks use 'joint'")
        if task == "survival" and opts.tla_distance != "ce":
            raise ConfigError(
                f"omnifuse: model.tla_distance '{opts.tla_distance}' needs classes; survival tasks use 'ce' (the task loss)"
            )
        dim, n_mod = config.embed_dim, len(self.modalities)
        self.encoders = self.build_encoders(dim)
        self.missing_tokens = nn.Parameter(torch.zeros(n_mod, dim)) if opts.missing == "token" else None
        width = n_mod * dim
        cra = dict(n_blocks=opts.n_blocks, hidden=opts.cra_hidden, latent=opts.cra_latent)
        self.forward_cra = CascadeResidualAutoencoder(width, **cra) if opts.imp_forward else None
        self.backward_cra = CascadeResidualAutoencoder(width, **cra) if opts.imp_backward else None
        joint_dim = self.forward_cra.latent_dim if self.forward_cra is not None else width
        self.joint_head = ClassifierHead(joint_dim, n_classes, config.head_hidden, config.dropout)
        self.modality_heads = (
            nn.ModuleDict(
                {m: ClassifierHead(dim, n_classes, config.head_hidden, config.dropout) for m in self.modalities}
            )
            if opts.dwfuse
            else None
        )

    # ------------------------------------------------------------------ pieces
    def absent_embeddings(self, inputs: Mapping[str, Any]) -> torch.Tensor:
        """``(M, D)``: the encoder of each modality applied to a zero input (eqs. 2-3), or the
        learned missing tokens."""
        if self.missing_tokens is not None:
            return self.missing_tokens
        with _dropout_off(self.encoders):  # one fixed "absent" embedding, in training as at inference
            rows = [self.encoders[m](_zero_like_row(inputs[m])) for m in self.modalities]
        return torch.cat(rows, dim=0)

    def fuse(self, v: torch.Tensor, mask: torch.Tensor, absent: torch.Tensor) -> FusedOutput:
        """Joint and unimodal predictions from true embeddings ``v`` (B, M, D) under ``mask``.

        Modalities absent under ``mask`` are replaced by their absent embedding and, with
        forward imputation, by the imputed embedding; present ones keep their own.
        """
        mask3 = mask.unsqueeze(-1)
        v_in = torch.where(mask3, v, absent.unsqueeze(0).expand_as(v))
        flat = v_in.flatten(1)
        if self.forward_cra is not None:
            imputed, latents = self.forward_cra(flat)
            used = torch.where(mask3, v_in, imputed.view_as(v_in))
            joint = torch.cat(latents, dim=1)
        else:
            used, joint = v_in, flat
        joint_logits = self.joint_head(joint)
        modality_logits = (
            [self.modality_heads[m](used[:, j]) for j, m in enumerate(self.modalities)] if self.modality_heads else []
        )
        return FusedOutput(joint_logits, modality_logits, used)

    def imputation_losses(self, v: torch.Tensor, mask: torch.Tensor, absent: torch.Tensor) -> dict[str, torch.Tensor]:
        """Eqs. 7-8 on artificially dropped modalities (natural absences have no target)."""
        if self.forward_cra is None:
            return {}
        available = artificial_availability(mask)
        dropped = mask & ~available
        target = v.detach() if self.options.detach_targets else v
        v_in = torch.where(available.unsqueeze(-1), v, absent.unsqueeze(0).expand_as(v))
        forward, _ = self.forward_cra(v_in.flatten(1))
        forward = forward.view_as(v)
        losses = {"imp_forward": _block_mse(forward, target, dropped)}
        if self.backward_cra is not None:
            backward, _ = self.backward_cra(forward.flatten(1))
            # cycle back to the input: the available modalities' (true, possibly detached) embeddings
            losses["imp_backward"] = self.options.lambda1 * _block_mse(backward.view_as(v), target, available)
        return losses

    # ------------------------------------------------------------------ contract
    def forward(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> ModelOutput:
        embeddings, losses = self.encode(inputs, mask)
        v = torch.stack([embeddings[m] for m in self.modalities], dim=1)
        absent = self.absent_embeddings(inputs)
        fused = self.fuse(v, mask, absent)
        if self.training:
            losses.update(self.imputation_losses(v, mask, absent))
        modality_logits = dict(zip(self.modalities, fused.modality_logits))
        logits, weights = fused.joint_logits, None
        if fused.modality_logits and self.task == "survival":
            # no label-free confidence of a risk or hazard head (no top class): present modalities weigh 1
            weights = mask.to(fused.joint_logits.dtype)
        elif fused.modality_logits:
            # absent modalities report weight 0 and do not vote (an imputed embedding is not evidence)
            weights = inference_omega(fused.modality_logits, self.options.beta, present=mask)
            if self.options.predict == "blend" and not self.training:
                logits = blend(logits, fused.modality_logits, weights)
        used = {m: fused.used[:, j] for j, m in enumerate(self.modalities)}
        return ModelOutput(logits, modality_logits, weights, losses, used)

    @property
    def imputes_absent(self) -> bool:
        """True when absent modalities get an imputed embedding (forward IMP on)."""
        return self.forward_cra is not None


def _block_mse(pred: torch.Tensor, target: torch.Tensor, blocks: torch.Tensor) -> torch.Tensor:
    """Mean over selected (sample, modality) blocks of the squared L2 distance per block."""
    if not blocks.any():
        return pred.sum() * 0.0
    return ((pred - target) ** 2).sum(dim=-1)[blocks].mean()


@contextmanager
def _dropout_off(module: nn.Module) -> Iterator[None]:
    """Switch the dropout layers of ``module`` to eval mode for the duration of the block."""
    layers = [m for m in module.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.training]
    for layer in layers:
        layer.eval()
    try:
        yield
    finally:
        for layer in layers:
            layer.train()


def _zero_like_row(x: Any) -> Any:
    """One all-absent placeholder row shaped like the batch input ``x``."""
    if isinstance(x, SeriesBatch):
        return SeriesBatch(
            torch.zeros_like(x.values[:1]),
            torch.zeros_like(x.observed[:1]),
            torch.zeros_like(x.times[:1]),
            torch.zeros_like(x.step_mask[:1]),
        )
    return torch.zeros_like(x[:1])


def build(dataset: Any, config: OmniFuseConfig) -> tuple[MultimodalModel, list[Strategy]]:
    """The model and its objective, a strategy like the others (its generator takes the run's seed)."""
    objective = OmniFuseObjective()
    objective.check_task(dataset.task)
    return OmniFuseModel.from_config(dataset, config), [objective]


def _register() -> None:
    """``omnifuse`` (all components) and ``omnifuse-a`` ... ``omnifuse-f``, the rows of table 4."""

    register(
        ModelEntry(
            OmniFuseModel.name,
            "model",
            OmniFuseModel.paper,
            first_line(OmniFuseModel.__doc__),
            build,
            space=dict(OmniFuseModel.search_space),
            config_class=OmniFuseConfig,
            model_class=OmniFuseModel,
        )
    )
    for row, components in ABLATION_ROWS.items():
        kept = [k for k, on in components.items() if on] or ["concat baseline"]
        register(
            ModelEntry(
                f"omnifuse-{row}",
                "model",
                f"{OmniFuseModel.paper}, table 4 row ({row})",
                f"OmniFuse ablation ({row}): {', '.join(kept)}",
                build,
                {"model": dict(components)},
                space=_ablation_space(components),
                config_class=OmniFuseConfig,
                model_class=OmniFuseModel,
            )
        )


#: The options of :attr:`OmniFuseModel.search_space` that only matter with a component.
_COMPONENT_OPTIONS = {
    "imp_backward": ("lambda1",),
    "dwfuse": ("lambda2", "alpha", "beta"),
    "tla": ("lambda3",),
    "imp_forward": ("n_blocks",),
}


def _ablation_space(components: dict[str, bool]) -> dict[str, dict[str, Any]]:
    """OmniFuse's search space without the options of the components an ablation row drops."""
    dropped = {
        f"model.{o}" for c, options in _COMPONENT_OPTIONS.items() if not components.get(c, True) for o in options
    }
    return {k: dict(v) for k, v in OmniFuseModel.search_space.items() if k not in dropped}


_register()
