"""Model configs: every model class owns its config; get_config / from_config round trips."""

from __future__ import annotations

import pytest
import torch

from omnifuse.balance import PMR
from omnifuse.data.schema import DatasetSchema
from omnifuse.data.simulate import default_cohort, make_lowquality
from omnifuse.errors import ConfigError
from omnifuse.models import all_models, get_model
from omnifuse.models.config import (
    FusionConfig,
    HybridConfig,
    LateConfig,
    ModelConfig,
    NeuralConfig,
    StrategyConfig,
    config_class_of,
    entry_config,
)
from omnifuse.models.omnifuse_config import OmniFuseConfig
from omnifuse.models.sklearn_baselines import GradientBoostingConfig, LogisticRegressionConfig
from omnifuse.models.sklearn_stack import StackingConfig
from omnifuse.models.sleep import SleepConfig
from omnifuse.training.config import TrainerConfig

from .sleep.conftest import schema as sleep_schema

SIZES = {"embed_dim", "dropout", "head_hidden", "survival_head", "survival_bins"}
ENCODED = SIZES | {"encoders", "select", "unimodal_weight"}

# (config class, its keys, a default value, a typed-section error: raw -> message)
CLASSES = [
    (NeuralConfig, SIZES, ("embed_dim", 64), ({"dropout": 1.0}, "key 'dropout': Input should be less than 1")),
    (
        FusionConfig,
        ENCODED | {"unimodal_heads", "fusion", "model"},
        ("unimodal_heads", False),
        ({"select": {"omics": {"top_k": 0}}}, "key 'select.omics.top_k': Input should be greater than or equal to 1"),
    ),
    (
        HybridConfig,
        ENCODED | {"unimodal_heads", "fusion", "model"},
        ("model", {"combine_unimodal": False, "fusion": "concat"}),
        ({"model": {"fusion": "nope"}}, "unknown fusion 'nope' (valid: attention, concat"),
    ),
    (
        StrategyConfig.for_strategy(PMR),
        ENCODED | {"unimodal_heads", "fusion", "model", "strategy"},
        ("strategy", {}),
        ({"strategy": {"alpah": 1.0}}, "strategy 'pmr': unknown option 'alpah' (valid: base, alpha"),
    ),
    (
        LateConfig,
        ENCODED | {"model"},
        ("model", {"combine": "mean"}),
        ({"model": {"combine": "max"}}, "option 'model.combine': Input should be 'mean' or 'learned'"),
    ),
    (
        OmniFuseConfig,
        ENCODED | {"model"},
        ("unimodal_weight", 0.0),
        ({"model": {"n_blocks": 0}}, "option 'model.n_blocks': Input should be greater than or equal to 1"),
    ),
    (
        SleepConfig,
        {"unimodal_weight", "model"},
        ("unimodal_weight", 1.0),
        ({"model": {"d_model": 30, "n_heads": 4}}, "model.d_model (30) must be divisible by model.n_heads (4)"),
    ),
    (
        LogisticRegressionConfig,
        {"model"},
        ("model", {"C": 1.0}),
        ({"model": {"C": 0}}, "option 'model.C': Input should be greater than 0"),
    ),
    (
        GradientBoostingConfig,
        {"model"},
        ("model", {"max_iter": 200, "learning_rate": 0.1, "max_depth": None, "l2_regularization": 0.0}),
        ({"model": {"max_depth": "deep"}}, "option 'model.max_depth': Input should be a valid integer"),
    ),
    (
        StackingConfig,
        {"model"},
        ("model", {"C": 1.0, "combiner_C": 1.0}),
        ({"model": {"combiner_C": -1}}, "option 'model.combiner_C': Input should be greater than 0"),
    ),
]


@pytest.mark.parametrize("cls, keys, default, bad", CLASSES, ids=lambda v: getattr(v, "__name__", None))
def test_config_class_keys_defaults_and_errors(cls, keys, default, bad):
    assert set(cls.model_fields) == keys
    key, value = default
    dumped = cls().model_dump()
    assert dumped[key] == value
    with pytest.raises(ConfigError) as err:  # an unknown key lists the valid ones
        cls.load({"nope": 1}, "m")
    assert str(err.value) == f"m: unknown key 'nope' (valid: {', '.join(sorted(keys))})"
    raw, message = bad
    with pytest.raises(ConfigError, match="^.*" + message.replace("(", r"\(").replace(")", r"\)")):
        cls.load(raw, "m")


def test_typed_model_sections_list_their_own_options():
    with pytest.raises(ConfigError) as err:
        LogisticRegressionConfig.load({"model": {"c": 1}}, "sk-logreg")
    assert str(err.value) == "sk-logreg: unknown option 'model.c' (valid: C)"
    assert LogisticRegressionConfig.section_options("model") == ("C",)
    assert FusionConfig.section_options("fusion") is None  # keys depend on the operator


def test_part_sections_are_checked_when_the_config_is_loaded():
    lmf = FusionConfig.for_operator("lmf")
    assert lmf.operator == "lmf" and lmf().fusion_name == "lmf" and FusionConfig.for_operator("lmf") is lmf
    assert lmf.load({"fusion": {"rank": 3}}).fusion == {"rank": 3}
    cases = [
        (lmf, {"fusion": {"rank": "abc"}}, "fusion 'lmf': option 'rank': Input should be a valid integer"),
        (FusionConfig, {"fusion": {"rank": 3}}, "fusion 'concat': unknown option 'rank' (valid: "),
        (
            FusionConfig,
            {"encoders": {"tabular": {"dropout": "abc"}}},
            "encoders.tabular: mlp encoder: option 'dropout': Input should be a valid number",
        ),
        (
            FusionConfig,
            {"encoders": {"omics": {"type": "dae", "noise": 1}}},
            "encoders.omics: dae encoder: unknown option 'noise'",
        ),
        (FusionConfig, {"encoders": {"ehr": {"type": "gru"}}}, "encoders.ehr: unknown encoder type 'gru' (valid: "),
        (HybridConfig, {"model": {"fusion": "lmf"}, "fusion": {"bogus": 1}}, "fusion 'lmf': unknown option 'bogus'"),
    ]
    for cls, raw, message in cases:
        with pytest.raises(ConfigError) as err:
            cls.load(raw, "m")
        assert message in str(err.value), str(err.value)
    # a section named after a modality without a type is checked when the model is built (kind from the data)
    assert FusionConfig.load({"encoders": {"ehr": {"hidden": [8]}}}).encoders == {"ehr": {"hidden": [8]}}


def test_strategy_sections_checked_with_the_config():
    entry = get_model("ogm-ge")
    assert entry_config(entry).unimodal_heads is True  # the strategy's defaults
    with pytest.raises(ConfigError, match="strategy 'ogm-ge': the base fusion is wrong: unknown fusion 'nope'"):
        entry_config(entry, {"strategy": {"base": "nope"}})
    with pytest.raises(ConfigError, match="strategy 'ogm-ge': option 'alpha': Input should be a valid number"):
        entry_config(entry, {"strategy": {"alpha": "high"}})
    assert entry_config(entry, {"strategy": {"base": "lmf"}, "fusion": {"rank": 2}}).fusion_name == "lmf"


def test_every_registered_model_declares_a_config_its_defaults_fit():
    trainer = set(TrainerConfig.model_fields)
    for entry in all_models():
        cls = config_class_of(entry)
        assert entry.config_class is not None and issubclass(cls, ModelConfig), entry.name
        assert not trainer & set(cls.model_fields), entry.name  # every key has one owner
        assert set(entry.defaults) <= set(cls.model_fields), entry.name
        assert isinstance(entry_config(entry), cls)
        if entry.model_class is not None:
            assert issubclass(cls, entry.model_class.config_class), entry.name


@pytest.fixture(scope="module")
def tabular_schema():
    return DatasetSchema.of(default_cohort(3, seed=0, n_samples=40)[0])


@pytest.fixture(scope="module")
def survival_schema():
    return DatasetSchema.of(make_lowquality(3, n_samples=40, task="survival", seed=0)[0])


@pytest.mark.parametrize("name", [e.name for e in all_models()])
def test_get_config_from_config_round_trip(name, tabular_schema, survival_schema):
    entry = get_model(name)
    survival_only = entry.supported_tasks == ("survival",)
    schema = sleep_schema(2) if "sleep" in name else survival_schema if survival_only else tabular_schema
    config = entry_config(entry)
    torch.manual_seed(0)
    built = entry.build(schema, config)
    model = built[0] if isinstance(built, tuple) else built
    assert model.get_config() == config
    again = entry.model_class.from_config(schema, model.get_config())
    assert type(again) is type(model) and again.get_config() == config
    reloaded = config_class_of(entry).load(config.model_dump(mode="json"), name)  # what a bundle stores
    assert reloaded == config
    if isinstance(model, torch.nn.Module):
        shapes = {k: v.shape for k, v in model.state_dict().items()}
        assert shapes == {k: v.shape for k, v in again.state_dict().items()}


def test_models_take_a_mapping_or_their_config_only(tabular_schema):
    from omnifuse.models.fusion_model import FusionModel

    model = FusionModel.from_config(tabular_schema, {"embed_dim": 8, "head_hidden": 8})
    assert isinstance(model.get_config(), FusionConfig) and model.get_config().embed_dim == 8
    with pytest.raises(ConfigError, match="is configured by a FusionConfig"):
        FusionModel.from_config(tabular_schema, SleepConfig())
