"""Tensor Fusion Network (Zadeh et al., EMNLP 2017): outer product of ``[h_m; 1]``."""

from __future__ import annotations

import torch
from torch import nn

from omnifuse.errors import ConfigError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked


def choose_tensor_dim(n_modalities: int, dim: int, budget: int, max_tensor_dim: int) -> int:
    """Largest ``d_t <= min(dim, max_tensor_dim)`` with ``(d_t + 1) ** M <= budget``.

    Raises ConfigError when even ``d_t = 1`` (``2 ** M`` features) exceeds the budget.
    """
    if 2**n_modalities > budget:
        raise ConfigError(
            f"fusion 'tensor': {n_modalities} modalities need at least 2^{n_modalities} = "
            f"{2**n_modalities} features (tensor_dim=1), over the budget of {budget}; "
            f"raise fusion.budget, use fewer modalities, or choose another fusion (e.g. 'lmf')"
        )
    d_t = 1
    while d_t + 1 <= min(dim, max_tensor_dim) and (d_t + 2) ** n_modalities <= budget:
        d_t += 1
    return d_t


@FUSIONS.register
class TensorFusion(FusionOperator):
    """Tensor fusion (TFN, Zadeh et al. 2017, eq. 1): ``vec([h_1;1] x ... x [h_M;1])``.

    Each modality is projected to ``h_m = W_m z_m + b_m`` of width ``d_t``; an absent
    modality uses ``[0, ..., 0, 1]`` so that only the interaction terms of the present
    modalities (and their lower-order sub-products) are non-zero.

    Args:
        tensor_dim: projection width ``d_t``; by default the largest value
            ``<= min(dim, max_tensor_dim)`` with ``(d_t + 1) ** M <= budget``.
        budget: maximum ``output_dim``; ConfigError if ``(d_t + 1) ** M`` exceeds it.
        max_tensor_dim: cap on the automatic ``d_t``.

    ``output_dim = (d_t + 1) ** M``; no weights. A row with nothing present gives the
    one-hot "constant" feature.
    """

    name = "tensor"
    paper = "Zadeh et al. 2017, Tensor Fusion Network for Multimodal Sentiment Analysis"

    def __init__(
        self,
        n_modalities: int,
        dim: int,
        tensor_dim: int | None = None,
        budget: int = 4096,
        max_tensor_dim: int = 32,
    ) -> None:
        super().__init__(n_modalities, dim)
        if tensor_dim is None:
            tensor_dim = choose_tensor_dim(n_modalities, dim, budget, max_tensor_dim)
        elif tensor_dim < 1:
            raise ConfigError(f"fusion 'tensor': tensor_dim must be >= 1, got {tensor_dim}")
        elif (tensor_dim + 1) ** n_modalities > budget:
            choose_tensor_dim(n_modalities, dim, budget, max_tensor_dim)  # raises if hopeless
            raise ConfigError(
                f"fusion 'tensor': tensor_dim={tensor_dim} with {n_modalities} modalities gives "
                f"{(tensor_dim + 1) ** n_modalities} features, over the budget of {budget}; "
                f"lower fusion.tensor_dim or raise fusion.budget"
            )
        self.tensor_dim = tensor_dim
        self.budget = budget
        self.projections = nn.ModuleList(nn.Linear(dim, tensor_dim) for _ in range(n_modalities))
        self.output_dim = (tensor_dim + 1) ** n_modalities

    def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
        zm = masked(z, mask)
        one = zm.new_ones(zm.shape[0], 1)
        fused: torch.Tensor | None = None
        for m, proj in enumerate(self.projections):
            h = torch.where(mask[:, m : m + 1], proj(zm[:, m]), 0.0)
            v = torch.cat([h, one], dim=1)  # (B, d_t + 1)
            fused = v if fused is None else (fused.unsqueeze(-1) * v.unsqueeze(1)).flatten(1)
        assert fused is not None
        return FusionOutput(fused=fused)
