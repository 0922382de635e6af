"""Early fusion baseline of MedFuseSleep (Whitlow et al. 2025) (section 3.5): modalities concatenated at the input,
one inner/outer transformer.

Each STFT frame is the concatenation of every modality's bins (absent ones as zeros) and
M availability indicators. With ``model.ms`` or ``model.al`` the same network also encodes
each modality alone (its bins and indicator only), which gives the modality embeddings the
MS heads and the AL loss need (M extra passes); otherwise ``embeddings`` is empty.
Vanilla by default (``ms``/``al`` off). ``weights`` is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from omnifuse.data.spec import ModalitySpec
from omnifuse.errors import ConfigError
from omnifuse.models.registry import registered
from omnifuse.models.sleep.base import PAPER, SleepSequenceModel
from omnifuse.models.sleep.encoder import HierarchicalEncoder
from omnifuse.models.sleep.options import SleepConfig


@registered
class EarlySleep(SleepSequenceModel):
    """Early fusion for sleep staging: STFT bins of all modalities concatenated, one inner/outer transformer."""

    name = "early-sleep"
    paper = f"{PAPER}, section 3.5"
    defaults = {"model": {"ms": False, "al": False}}

    def __init__(self, specs: Mapping[str, ModalitySpec], task: str, n_classes: int, config: SleepConfig) -> None:
        super().__init__(specs, task, n_classes, config)
        frames = {self.specs[m].shape[0] for m in self.modalities}
        if len(frames) > 1:
            raise ConfigError(f"{self.name}: every modality needs the same number of STFT frames, got {sorted(frames)}")
        width = sum(self.n_bins(m) for m in self.modalities) + len(self.modalities)
        self.encoder = HierarchicalEncoder(width, self.arch)
        self.head = self.make_head()

    def stacked(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> torch.Tensor:
        """``(B, T, sum F + M)``: bins of the modalities present under ``mask`` (zeros for the
        others, whatever their input holds) and one availability indicator per modality."""
        parts = []
        for j, m in enumerate(self.modalities):
            x = inputs[m]
            parts.append(torch.where(mask[:, j, None, None], x, torch.zeros((), dtype=x.dtype, device=x.device)))
        T = parts[0].shape[1]
        indicators = mask.to(parts[0].dtype).unsqueeze(1).expand(-1, T, -1)
        return torch.cat(parts + [indicators], dim=-1)

    def encode_under(self, inputs: Mapping[str, Any], mask: torch.Tensor) -> torch.Tensor:
        """``(B, d)`` sequence outputs of the network seeing the modalities of ``mask`` only."""
        return self.encoder(self.stacked(inputs, mask), mask.any(dim=1), self.sequence_length)

    def represent(
        self, inputs: Mapping[str, Any], mask: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor | None]:
        logits = self.head(self.encode_under(inputs, mask))
        embeddings = {}
        if self.needs_modality_embeddings:
            for j, m in enumerate(self.modalities):
                alone = torch.zeros_like(mask)
                alone[:, j] = mask[:, j]
                embeddings[m] = self.encode_under(inputs, alone)
        return logits, embeddings, None
