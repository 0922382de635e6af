"""Modality encoders: each turns one modality's batch input into ``(B, output_dim)``."""

from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.encoders.dae import DenoisingAEEncoder
from omnifuse.encoders.factory import ENCODER_TYPES, KIND_TYPES, build_encoder
from omnifuse.encoders.grud import GRUDEncoder, time_since_observed
from omnifuse.encoders.identity import IdentityEncoder
from omnifuse.encoders.mlp import MLPEncoder
from omnifuse.encoders.recurrent import LSTMEncoder
from omnifuse.encoders.summary import SummaryEncoder, series_statistics
from omnifuse.encoders.transformer import TimeSeriesTransformerEncoder, time_encoding

__all__ = [
    "ENCODERS",
    "ENCODER_TYPES",
    "KIND_TYPES",
    "DenoisingAEEncoder",
    "Encoder",
    "GRUDEncoder",
    "IdentityEncoder",
    "LSTMEncoder",
    "MLPEncoder",
    "SummaryEncoder",
    "TimeSeriesTransformerEncoder",
    "build_encoder",
    "series_statistics",
    "time_encoding",
    "time_since_observed",
]
