"""Fusion operators: ``(B, M, D)`` embeddings + ``(B, M)`` mask -> ``(B, output_dim)``.

One small module per operator, whose class registers itself with ``@FUSIONS.register``
(constructor ``(n_modalities, dim, **hyperparameters)``). :data:`FUSION_OPERATORS` is a
read-only view of that registry: configuration name -> class.
"""

from __future__ import annotations

from collections.abc import Mapping

from omnifuse.fusion.attention import AttentionFusion
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked, masked_softmax
from omnifuse.fusion.concat import ConcatFusion
from omnifuse.fusion.cross_attention import CrossModalAttentionFusion
from omnifuse.fusion.gmu import GatedFusion
from omnifuse.fusion.lmf import LowRankFusion
from omnifuse.fusion.medfuse_lstm import MedFuseLSTMFusion
from omnifuse.fusion.product import ProductFusion
from omnifuse.fusion.se_gate import SEGateFusion
from omnifuse.fusion.sum import SumFusion
from omnifuse.fusion.tensor import TensorFusion

#: Read-only view of :data:`FUSIONS`: configuration name -> operator class.
FUSION_OPERATORS: Mapping[str, type[FusionOperator]] = FUSIONS.view()

__all__ = [
    "FUSIONS",
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
