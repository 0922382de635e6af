"""build_encoder: choice of encoder by modality kind and config, and its errors."""

from __future__ import annotations

import pytest
import torch

from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders import (
    DenoisingAEEncoder,
    GRUDEncoder,
    IdentityEncoder,
    LSTMEncoder,
    MLPEncoder,
    TimeSeriesTransformerEncoder,
    build_encoder,
)
from omnifuse.errors import ConfigError

CLIN = ModalitySpec("clin", "tabular", ("age", "bmi", "sex"), (3,))
OMICS = ModalitySpec("rna", "omics", shape=(50,))
VITALS = ModalitySpec("vitals", "timeseries", ("HR", "Temp"), (48, 2), time_unit="hours")
EMB = ModalitySpec("cxr_emb", "embedding", shape=(512,))


@pytest.mark.parametrize(
    ("spec", "config", "cls", "input_dim"),
    [
        (CLIN, None, MLPEncoder, 3),
        (OMICS, None, MLPEncoder, 50),
        (OMICS, {"type": "dae", "hidden": 32}, DenoisingAEEncoder, 50),
        (VITALS, None, GRUDEncoder, 2),
        (VITALS, {"type": "lstm", "layers": 2}, LSTMEncoder, 2),
        (VITALS, {"type": "Transformer", "n_heads": 2}, TimeSeriesTransformerEncoder, 2),
        (EMB, None, MLPEncoder, 512),
    ],
)
def test_choice_by_kind_and_config(spec: ModalitySpec, config: dict | None, cls: type, input_dim: int) -> None:
    enc = build_encoder(spec, 32, config)
    assert type(enc) is cls
    assert enc.output_dim == 32
    assert enc.input_dim == input_dim


def test_config_options_reach_the_encoder() -> None:
    enc = build_encoder(VITALS, 8, {"type": "lstm", "hidden": 20, "layers": 2})
    assert enc.lstm.hidden_size == 20 and enc.lstm.num_layers == 2
    assert build_encoder(VITALS, 8, {"type": "grud"}).hidden == 64


def test_embedding_identity_when_output_dim_none() -> None:
    enc = build_encoder(EMB, None)
    assert isinstance(enc, IdentityEncoder) and enc.output_dim == 512
    assert build_encoder(EMB, 512, {"type": "identity"}).output_dim == 512
    assert isinstance(build_encoder(EMB, None, {"layer_norm": True}).norm, torch.nn.LayerNorm)


@pytest.mark.parametrize("kind", ["image", "text", "signal"])
def test_unsupported_kinds(kind: str) -> None:
    spec = ModalitySpec("m1", kind, shape=(3, 8, 8))
    with pytest.raises(ConfigError, match=rf"'m1' \({kind}\).*not supported by build_encoder yet") as info:
        build_encoder(spec)
    assert "tabular, omics, timeseries, embedding" in str(info.value)


def test_unknown_type_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown encoder type 'cnn'.*grud, lstm, transformer"):
        build_encoder(VITALS, 16, {"type": "cnn"})
    with pytest.raises(ConfigError, match="valid for tabular: mlp"):
        build_encoder(CLIN, 16, {"type": "dae"})


def test_unknown_key_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="'hiden'.*valid: type, hidden, layers, dropout"):
        build_encoder(VITALS, 16, {"type": "lstm", "hiden": 3})
    with pytest.raises(ConfigError, match="'corruption'.*valid: type, hidden, dropout"):
        build_encoder(OMICS, 16, {"corruption": 0.3})


def test_size_errors() -> None:
    with pytest.raises(ConfigError, match="output_dim=None"):
        build_encoder(CLIN, None)
    with pytest.raises(ConfigError, match="identity encoder keeps the input size 512"):
        build_encoder(EMB, 64, {"type": "identity"})
    with pytest.raises(ConfigError, match="no features"):
        build_encoder(ModalitySpec("x", "tabular"), 16)
    with pytest.raises(ConfigError, match="mapping"):
        build_encoder(CLIN, 16, ["mlp"])  # type: ignore[arg-type]


@pytest.mark.parametrize("series_type", ["grud", "lstm", "transformer"])
def test_encoders_on_a_collated_batch(tiny, series_type: str) -> None:
    """End to end on the shared six-sample cohort (absent rows, empty series rows)."""
    from omnifuse.data.collate import make_batch

    batch = make_batch(tiny, range(len(tiny.mask)))
    for spec in tiny.specs.values():
        config = {"type": series_type} if spec.kind == "timeseries" else None
        enc = build_encoder(spec, 8, config).eval()
        out = enc(batch["inputs"][spec.name])
        assert out.shape == (6, 8) and torch.isfinite(out).all(), spec.name
