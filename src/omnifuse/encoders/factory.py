"""Choose and build the encoder of a modality from its :class:`ModalitySpec`."""

from __future__ import annotations

from typing import Any

from omnifuse.utils.options import check_options, constructor_options
from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders.base import Encoder
from omnifuse.encoders.dae import DenoisingAEEncoder
from omnifuse.encoders.grud import GRUDEncoder
from omnifuse.encoders.identity import IdentityEncoder
from omnifuse.encoders.mlp import MLPEncoder
from omnifuse.encoders.recurrent import LSTMEncoder
from omnifuse.encoders.summary import SummaryEncoder
from omnifuse.encoders.transformer import TimeSeriesTransformerEncoder
from omnifuse.errors import ConfigError

#: Encoder classes by config ``type``.
ENCODER_TYPES: dict[str, type[Encoder]] = {
    "mlp": MLPEncoder,
    "dae": DenoisingAEEncoder,
    "grud": GRUDEncoder,
    "lstm": LSTMEncoder,
    "transformer": TimeSeriesTransformerEncoder,
    "summary": SummaryEncoder,
    "identity": IdentityEncoder,
}

#: Encoder types allowed for each supported kind; the first one is the default.
KIND_TYPES: dict[str, tuple[str, ...]] = {
    "tabular": ("mlp",),
    "omics": ("mlp", "dae"),
    "timeseries": ("grud", "lstm", "transformer", "summary"),
    "embedding": ("identity", "mlp"),
}


def default_encoder_type(kind: str) -> str | None:
    """The encoder type a modality of ``kind`` gets without configuration (None: unsupported).

    Embedding modalities get an MLP because models always ask for a fixed embedding width.
    """
    if kind not in KIND_TYPES:
        return None
    return "mlp" if kind == "embedding" else KIND_TYPES[kind][0]


def encoder_options(type_: str) -> tuple[str, ...]:
    """Config keys accepted by encoder ``type_`` besides ``type``."""
    return constructor_options(ENCODER_TYPES[type_], skip=("input_dim", "output_dim"))


def build_encoder(spec: ModalitySpec, output_dim: int | None = 64, config: dict[str, Any] | None = None) -> Encoder:
    """The encoder of modality ``spec`` with embeddings of size ``output_dim``.

    Defaults by kind: tabular -> MLP; omics -> MLP (``{"type": "dae"}`` for a denoising
    autoencoder); timeseries -> GRU-D (``"lstm"``, ``"transformer"`` or ``"summary"``, per-channel
    statistics with an optional sequence encoder beside them, selectable);
    embedding -> identity when ``output_dim`` is None, else MLP. The other keys of
    ``config`` are passed to the encoder's constructor (e.g. ``{"type": "lstm",
    "hidden": 64}``). The input size is ``spec.n_features`` (channels for series).

    Raises:
        ConfigError: unsupported kind, unknown type or key, or inconsistent sizes.
    """
    where = f"modality '{spec.name}' ({spec.kind})"
    if spec.kind not in KIND_TYPES:
        raise ConfigError(
            f"{where}: kind '{spec.kind}' is not supported by build_encoder yet "
            f"(supported kinds: {', '.join(KIND_TYPES)})"
        )
    if config is not None and not isinstance(config, dict):
        raise ConfigError(f"{where}: encoder config must be a mapping, got {type(config).__name__}")
    options = dict(config or {})
    valid_types = KIND_TYPES[spec.kind]
    default = "mlp" if spec.kind == "embedding" and output_dim is not None else valid_types[0]
    type_ = options.pop("type", default)
    if not isinstance(type_, str) or type_.lower() not in valid_types:
        raise ConfigError(
            f"{where}: unknown encoder type {type_!r} (valid for {spec.kind}: {', '.join(valid_types)})"
        )
    type_ = type_.lower()
    options = check_options(ENCODER_TYPES[type_], options, f"{where}: {type_} encoder",
                            skip=("input_dim", "output_dim"), also_valid=("type",))
    input_dim = spec.n_features
    if input_dim < 1:
        raise ConfigError(f"{where}: no features to encode (empty feature_names and shape)")
    if type_ == "identity":
        if output_dim is not None and output_dim != input_dim:
            raise ConfigError(
                f"{where}: the identity encoder keeps the input size {input_dim}, "
                f"but output_dim={output_dim}; use output_dim=None or type 'mlp'"
            )
        return IdentityEncoder(input_dim, **options)
    if output_dim is None:
        raise ConfigError(
            f"{where}: output_dim=None is only allowed for the identity encoder of embedding modalities"
        )
    try:
        return ENCODER_TYPES[type_](input_dim, output_dim, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid {type_} encoder options: {exc}") from exc
