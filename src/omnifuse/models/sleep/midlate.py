"""Mid-late fusion baseline of MedFuseSleep (Whitlow et al. 2025) (section 3.5): per-modality hierarchical transformers,
fused by summation over the present modalities, no cross-modal interaction.

Vanilla by default (``model.ms=false``, ``model.al=false``); the paper's "+MS", "+AL" rows
are ``--set model.ms=true`` / ``model.al=true``. ``weights`` is None (an unweighted sum).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from omnifuse.data.spec import ModalitySpec
from omnifuse.models.registry import registered
from omnifuse.models.sleep.base import PAPER, SleepSequenceModel
from omnifuse.models.sleep.encoder import HierarchicalEncoder
from omnifuse.models.sleep.options import SleepConfig


@registered
class MidLateSleep(SleepSequenceModel):
    """Mid-late fusion for sleep staging: one inner/outer transformer per modality, summed."""

    name = "midlate-sleep"
    paper = f"{PAPER}, section 3.5"
    defaults = {"model": {"ms": False, "al": False}}

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: SleepConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        self.encoders = nn.ModuleDict({m: HierarchicalEncoder(self.n_bins(m), self.arch) for m in self.modalities})
        self.head = self.make_head()

    def represent(
        self, inputs: Mapping[str, Any], mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        L = self.sequence_length
        z = torch.stack([self.encoders[m](inputs[m], mask[:, j], L) for j, m in enumerate(self.modalities)], dim=1)
        fused = (z * mask.unsqueeze(-1).to(z.dtype)).sum(dim=1)
        return self.head(fused), {m: z[:, j] for j, m in enumerate(self.modalities)}, None
