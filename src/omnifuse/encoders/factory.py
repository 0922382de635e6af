"""Choose and build the encoder of a modality from its :class:`ModalitySpec`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from omnifuse.utils.options import check_options, constructor_options
from omnifuse.data.spec import MODALITY_KINDS, ModalitySpec
from omnifuse.encoders.base import ENCODERS, Encoder
from omnifuse.errors import ConfigError

#: Read-only view of :data:`~omnifuse.encoders.base.ENCODERS`: config ``type`` -> class.
ENCODER_TYPES: Mapping[str, type[Encoder]] = ENCODERS.view()


def kind_types() -> dict[str, tuple[str, ...]]:
    """Encoder types serving each kind (from the classes' ``kinds``), the kind's default first.

    Kinds are in :data:`~omnifuse.data.spec.MODALITY_KINDS` order; a kind no encoder serves
    is left out (as is a declared kind that is not a modality kind).
    """
    served: dict[str, list[str]] = {}
    for name, cls in ENCODERS.items():
        for kind in cls.kinds:
            served.setdefault(kind, []).append(name)
    out: dict[str, tuple[str, ...]] = {}
    for kind in (k for k in MODALITY_KINDS if k in served):
        default = _declared_default(kind, served[kind])
        out[kind] = (default, *(name for name in served[kind] if name != default))
    return out


class _KindTypes(Mapping[str, tuple[str, ...]]):
    """:func:`kind_types` as a read-only mapping that always reflects the registry."""

    def __getitem__(self, kind: str) -> tuple[str, ...]:
        return kind_types()[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(kind_types())

    def __len__(self) -> int:
        return len(kind_types())


#: Encoder types allowed for each supported kind; the first one is the default.
KIND_TYPES: Mapping[str, tuple[str, ...]] = _KindTypes()


def _declared_default(kind: str, names: list[str]) -> str:
    claims = [name for name in names if kind in ENCODERS.get(name).default_for]
    if len(claims) != 1:
        raise ValueError(f"kind '{kind}' needs exactly one default encoder (default_for), got: {claims or 'none'}")
    return claims[0]


def default_encoder_type(kind: str) -> str | None:
    """The encoder type a modality of ``kind`` gets without configuration (None: unsupported).

    Embedding modalities get an MLP because models always ask for a fixed embedding width.
    """
    types = kind_types().get(kind)
    return types[0] if types else None


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
    kinds = kind_types()
    if spec.kind not in kinds:
        raise ConfigError(
            f"{where}: kind '{spec.kind}' is not supported by build_encoder yet (supported kinds: {', '.join(kinds)})"
        )
    if config is not None and not isinstance(config, dict):
        raise ConfigError(f"{where}: encoder config must be a mapping, got {type(config).__name__}")
    options = dict(config or {})
    valid_types = kinds[spec.kind]
    same_size = [name for name in valid_types if ENCODERS.get(name).keeps_input_size]
    default = same_size[0] if output_dim is None and same_size else valid_types[0]
    type_ = options.pop("type", default)
    if not isinstance(type_, str) or type_.lower() not in valid_types:
        raise ConfigError(f"{where}: unknown encoder type {type_!r} (valid for {spec.kind}: {', '.join(valid_types)})")
    type_ = type_.lower()
    cls = ENCODERS.get(type_)
    options = check_options(
        cls, options, f"{where}: {type_} encoder", skip=("input_dim", "output_dim"), also_valid=("type",)
    )
    input_dim = spec.n_features
    if input_dim < 1:
        raise ConfigError(f"{where}: no features to encode (empty feature_names and shape)")
    if cls.keeps_input_size:
        if output_dim is not None and output_dim != input_dim:
            raise ConfigError(
                f"{where}: the {type_} encoder keeps the input size {input_dim}, "
                f"but output_dim={output_dim}; use output_dim=None or type '{valid_types[0]}'"
            )
        return cls(input_dim, **options)
    if output_dim is None:
        keeping = [f"{name} ({', '.join(part.kinds)})" for name, part in ENCODERS.items() if part.keeps_input_size]
        raise ConfigError(
            f"{where}: output_dim=None is only allowed for an encoder that keeps the input size: {', '.join(keeping)}"
        )
    try:
        return cls(input_dim, output_dim, **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid {type_} encoder options: {exc}") from exc
