"""Balancing strategies for imbalanced modalities: hooks the training module calls.

Each strategy works with any model honouring the model contract (per-modality heads and
embeddings where it needs them) and any number of modalities. Importing
:mod:`omnifuse.models.strategies` registers them as model names of kind "strategy".
"""

from omnifuse.balance.alignment import AlignmentLoss, alignment_loss
from omnifuse.balance.base import Strategy, all_strategies
from omnifuse.balance.gblend import GBlend
from omnifuse.balance.modality_dropout import ModalityDropout, blank_rows
from omnifuse.balance.ogm_ge import OGMGE
from omnifuse.balance.pmr import PMR

__all__ = [
    "OGMGE",
    "PMR",
    "AlignmentLoss",
    "GBlend",
    "ModalityDropout",
    "Strategy",
    "alignment_loss",
    "all_strategies",
    "blank_rows",
]
