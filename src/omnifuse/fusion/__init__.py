"""Fusion operators: ``(B, M, D)`` embeddings + ``(B, M)`` mask -> ``(B, output_dim)``.

One small module per operator; :data:`FUSION_OPERATORS` maps the configuration name of each
operator to its class (constructor ``(n_modalities, dim, **hyperparameters)``).
"""

from __future__ import annotations

from omnifuse.fusion.attention import AttentionFusion
from omnifuse.fusion.base import FusionOperator, FusionOutput, masked, masked_softmax
from omnifuse.fusion.concat import ConcatFusion
from omnifuse.fusion.cross_attention import CrossModalAttentionFusion
from omnifuse.fusion.gmu import GatedFusion
from omnifuse.fusion.lmf import LowRankFusion
from omnifuse.fusion.medfuse_lstm import MedFuseLSTMFusion
from omnifuse.fusion.product import ProductFusion
from omnifuse.fusion.se_gate import SEGateFusion
from omnifuse.fusion.sum import SumFusion
from omnifuse.fusion.tensor import TensorFusion

FUSION_OPERATORS: dict[str, type[FusionOperator]] = {
    "concat": ConcatFusion,
    "sum": SumFusion,
    "product": ProductFusion,
    "tensor": TensorFusion,
    "lmf": LowRankFusion,
    "gmu": GatedFusion,
    "se-gate": SEGateFusion,
    "attention": AttentionFusion,
    "cross-attention": CrossModalAttentionFusion,
    "medfuse-lstm": MedFuseLSTMFusion,
}

__all__ = [
    "FUSION_OPERATORS",
    "AttentionFusion",
    "ConcatFusion",
    "CrossModalAttentionFusion",
    "FusionOperator",
    "FusionOutput",
    "GatedFusion",
    "LowRankFusion",
    "MedFuseLSTMFusion",
    "ProductFusion",
    "SEGateFusion",
    "SumFusion",
    "TensorFusion",
    "masked",
    "masked_softmax",
]
