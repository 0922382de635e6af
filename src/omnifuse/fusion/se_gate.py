"""Squeeze-and-excitation gating over modality embeddings (the "SE-Gate" baseline)."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


@FUSIONS.register
class SEGateFusion(FusionOperator):
    """Squeeze-and-excitation over modalities (Hu et al. 2018; SE-Gate of DWFuse sec. 4.4).

    Modalities play the role of SE channels. Squeeze: each embedding becomes a scalar
    descriptor ``s_m`` (its mean over the D features, or a learned per-modality linear map).
    Excitation: ``g = sigmoid(W_2 relu(W_1 [s * mask; mask]))`` (the mask is an input so an
    absent modality is not mistaken for a zero descriptor), then ``g_m = 0`` when absent.
    The reweighted embeddings ``g_m z_m`` are concatenated (``output_dim = M * D``) or summed
    (``output_dim = D``).

    Args:
        reduce: ``"concat"`` or ``"sum"``.
        squeeze: ``"mean"`` (parameter-free, as in SE) or ``"linear"``.
        hidden_dim: width of the excitation MLP (default ``max(4, M)``).

    ``weights`` are the sigmoid gates (in ``(0, 1)``, 0 on absent; not normalised).
    """

    name = "se-gate"
    search_space = {"hidden_dim": {"type": "int", "low": 8, "high": 64, "log": True}}
    paper = "Hu et al. 2018, Squeeze-and-Excitation Networks (SE-Gate baseline)"

    def __init__(
        self,
        n_modalities: int,
        dim: int,
        reduce: str = "concat",
        squeeze: str = "mean",
        hidden_dim: int | None = None,
    ) -> None:
        super().__init__(n_modalities, dim)
        if reduce not in ("concat", "sum"):
            raise ConfigError(f"fusion 'se-gate': reduce must be 'concat' or 'sum', got {reduce!r}")
        if squeeze not in ("mean", "linear"):
            raise ConfigError(f"fusion 'se-gate': squeeze must be 'mean' or 'linear', got {squeeze!r}")
        self.reduce = reduce
        self.squeeze = squeeze
        hidden = max(4, n_modalities) if hidden_dim is None else hidden_dim
        if hidden < 1:
            raise ConfigError(f"fusion 'se-gate': hidden_dim must be >= 1, got {hidden_dim}")
        if squeeze == "linear":
            self.squeeze_weight = nn.Parameter(torch.full((n_modalities, dim), 1.0 / dim))
            self.squeeze_bias = nn.Parameter(torch.zeros(n_modalities))
        self.excitation = nn.Sequential(nn.Linear(2 * n_modalities, hidden), nn.ReLU(), nn.Linear(hidden, n_modalities))
        self.output_dim = n_modalities * dim if reduce == "concat" else dim

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        present = mask.to(z.dtype)
        if self.squeeze == "mean":
            descriptor = zm.mean(dim=-1)
        else:
            descriptor = (zm * self.squeeze_weight).sum(dim=-1) + self.squeeze_bias
        descriptor = descriptor * present  # (B, M)
        gates = torch.sigmoid(self.excitation(torch.cat([descriptor, present], dim=1))) * present
        reweighted = gates.unsqueeze(-1) * zm
        fused = reweighted.flatten(1) if self.reduce == "concat" else reweighted.sum(dim=1)
        return FusionOutput(fused=fused, weights=gates)
