"""Polysomnography (EDF) data path for sleep staging (MedFuseSleep, Whitlow et al. 2025).

Public API::

    from omnifuse.data.sleep import (load_sleep, is_sleep_dir, simulate_sleep, epoch_id,
                                     parse_epoch_ids, STAGES, SleepSettings, DEFAULT_CHANNELS)

Modules: ``edf`` (read and pick channels), ``hypnogram`` (Sleep-EDF EDF+ / NSRR XML),
``pairing`` (PSG <-> hypnogram), ``stages`` (consolidation, filtering, wake trimming),
``preprocess`` (resample, FIR band-pass, STFT), ``recording`` (one night), ``loader``
(a folder), ``quality`` (noisy recordings, Whitlow et al. 2025 section 4.4), ``epochs`` (sample ids),
``write`` / ``simulate*`` (synthetic nights, ``simulate_artefacts``: noisy channels).
"""

from omnifuse.data.sleep.config import DEFAULT_CHANNELS, SHHS_CHANNELS, SLEEP_EDF_CHANNELS, SleepSettings
from omnifuse.data.sleep.epochs import epoch_id, parse_epoch_ids
from omnifuse.data.sleep.loader import is_sleep_dir, load_sleep
from omnifuse.data.sleep.simulate import simulate_sleep
from omnifuse.data.sleep.stages import STAGES

__all__ = [
    "DEFAULT_CHANNELS",
    "SHHS_CHANNELS",
    "SLEEP_EDF_CHANNELS",
    "STAGES",
    "SleepSettings",
    "epoch_id",
    "is_sleep_dir",
    "load_sleep",
    "parse_epoch_ids",
    "simulate_sleep",
]
