"""Sleep staging models of MedFuseSleep (Whitlow et al. 2025) and its baselines, as omnifuse models.

Registered: ``medfusesleep`` (cross-modality attention + MS + AL), ``medfusesleep-base``
(same architecture, CE only), ``early-sleep`` and ``midlate-sleep`` (section 3.5). All are
sequence-to-sequence over ``sequence_length`` consecutive 30 s epochs (see
:mod:`omnifuse.models.sleep.base`); options are ``config.model`` keys
(:class:`~omnifuse.models.sleep.options.SleepOptions`).
"""

from omnifuse.models.sleep.alignment import alignment_loss, info_nce
from omnifuse.models.sleep.base import SleepSequenceModel
from omnifuse.models.sleep.early import EarlySleep
from omnifuse.models.sleep.medfusesleep import MedFuseSleep, MedFuseSleepBase
from omnifuse.models.sleep.midlate import MidLateSleep
from omnifuse.models.sleep.options import PRESETS, Architecture, SleepConfig, SleepOptions

__all__ = [
    "PRESETS",
    "Architecture",
    "EarlySleep",
    "MedFuseSleep",
    "MedFuseSleepBase",
    "MidLateSleep",
    "SleepConfig",
    "SleepOptions",
    "SleepSequenceModel",
    "alignment_loss",
    "info_nce",
]
