"""Options of the sleep models: presets, overrides, parameter counts and config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnifuse.errors import ConfigError
from omnifuse.models import get_model
from omnifuse.models.sleep.options import PRESETS
from omnifuse.models.sleep.transformer import RelativeTransformerLayer
from omnifuse.training.config import load_config

from .conftest import build, schema

CONFIGS = Path(__file__).resolve().parents[3] / "configs"


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("size", ["small", "paper"])
def test_layer_parameter_count_follows_the_architecture(size):
    a = PRESETS[size]
    d, ff, dk, K = a.d_model, a.d_ff, a.d_model // a.n_heads, a.max_relative_distance
    attention = 4 * d * d + 4 * d + (2 * K + 1) * dk
    feed_forward = 2 * d * ff + ff + d
    assert n_params(RelativeTransformerLayer(d, a.n_heads, ff, a.dropout, K)) == attention + feed_forward + 4 * d


def test_paper_preset_is_the_papers_configuration():
    model = build("medfusesleep", 2, size="paper")
    a = model.arch
    assert (a.d_model, a.n_heads, a.d_ff, a.inner_layers, a.outer_layers) == (128, 8, 1024, 4, 4)
    assert a.d_model // a.n_heads == 16 and a.head_dropout == 0.3
    small = build("medfusesleep", 2)
    assert n_params(model) > 10 * n_params(small)
    for m in model.modalities:
        assert len(model.encoders[m].inner.transformer.layers) == 4
        assert len(model.encoders[m].outer.transformer.layers) == 4


def test_individual_overrides_apply_on_the_preset():
    model = build("midlate-sleep", 1, size="paper", d_model=32, n_heads=2, outer_layers=1, sequence_length=5)
    assert (model.arch.d_model, model.arch.n_heads, model.arch.d_ff, model.arch.outer_layers) == (32, 2, 1024, 1)
    assert model.sequence_length == 5


def test_unknown_option_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option 'model.depth'.*valid: size, d_model"):
        build("medfusesleep", 2, depth=3)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"d_model": 30, "n_heads": 4}, "divisible"),
        ({"tau": 0}, "model.tau"),
        ({"size": "huge"}, "model.size"),
        ({"sequence_length": 0}, "model.sequence_length"),
    ],
)
def test_invalid_options(options, message):
    with pytest.raises(ConfigError, match=message):
        build("medfusesleep", 2, **options)


def test_ms_needs_a_unimodal_weight():
    with pytest.raises(ConfigError, match="unimodal_weight"):
        build("medfusesleep", 2, user={"unimodal_weight": 0})
    assert build("medfusesleep", 2, user={"unimodal_weight": 0}, ms=False).modality_heads is None


def test_only_multiclass_signal_data():
    entry = get_model("medfusesleep")
    config = load_config(model=entry).model
    with pytest.raises(ConfigError, match="multiclass"):
        entry.build(schema(2, task="binary"), config)
    with pytest.raises(ConfigError, match="must be a signal"):
        entry.build(schema(2, kind="tabular"), config)


def test_set_overrides_reach_the_model():
    entry = get_model("medfusesleep")
    config = load_config(overrides=["model.ms=false", "model.al=false", "model.tau=0.5"], model=entry)
    model = entry.build(schema(2), config.model)
    assert model.modality_heads is None and not model.options.al and model.options.tau == 0.5


def test_paper_config_file_builds_the_paper_model():
    entry = get_model("medfusesleep")
    config = load_config(CONFIGS / "medfusesleep-paper.yaml", model=entry)
    trainer = config.trainer
    assert (trainer.batch_size, trainer.lr, trainer.weight_decay) == (336, 1e-4, 1e-4)
    assert trainer.batch_size % 21 == 0
    model = entry.build(schema(2), config.model)
    assert model.arch == PRESETS["paper"] and model.sequence_length == 21
