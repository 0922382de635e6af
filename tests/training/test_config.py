"""The run config: one flat mapping split into the trainer's config and the model's."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnifuse.errors import ConfigError
from omnifuse.models import all_models, get_model
from omnifuse.models.config import SIZE_SPACE, FusionConfig
from omnifuse.models.sklearn_baselines import LogisticRegressionConfig
from omnifuse.training.config import (
    TRAINER_SPACE,
    RunConfig,
    TrainerConfig,
    load_config,
    load_configs,
    resolve_config,
    resolve_configs,
    split_config,
    validate_trainer,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
TRAINER_KEYS = sorted(TrainerConfig.model_fields)


def test_trainer_config_defaults_unknown_key_and_typed_errors():
    trainer = TrainerConfig()
    assert (trainer.max_epochs, trainer.lr, trainer.seed, trainer.ensemble, trainer.monitor) == (60, 1e-3, 0, 1, "auto")
    assert "embed_dim" not in TrainerConfig.model_fields and "model" not in TrainerConfig.model_fields
    with pytest.raises(ConfigError) as err:
        validate_trainer({"max_epoch": 3}, "f.yaml")
    assert str(err.value) == f"f.yaml: unknown key 'max_epoch' (valid: {', '.join(TRAINER_KEYS)})"
    with pytest.raises(ConfigError, match="f.yaml: key 'lr': Input should be greater than 0"):
        validate_trainer({"lr": -1}, "f.yaml")
    with pytest.raises(ConfigError, match="unknown monitor 'val_f1'"):
        validate_trainer({"monitor": "val_f1"}, "f.yaml")
    assert set(TRAINER_SPACE) == {"lr", "weight_decay", "batch_size"}  # the sizes are the models'
    assert set(SIZE_SPACE) == {"dropout", "embed_dim", "head_hidden"}


def test_a_flat_mapping_splits_by_owner():
    run = resolve_config("lmf", {"lr": 0.01, "seed": 3, "embed_dim": 8, "fusion": {"rank": 2}, "model": {}})
    assert isinstance(run, RunConfig) and run.trainer.lr == 0.01 and run.trainer.seed == 3
    assert isinstance(run.model, FusionConfig) and run.model.embed_dim == 8 and run.model.fusion == {"rank": 2}
    flat = run.flat()
    assert (
        flat["lr"] == 0.01 and flat["fusion"] == {"rank": 2} and set(flat) == set(TRAINER_KEYS) | set(run.model.keys())
    )
    assert resolve_config("lmf", flat) == run  # the flat surface round-trips
    # the registered name's defaults sit under the user's keys
    assert resolve_config("late").model.unimodal_weight == 1.0
    assert resolve_config("late", {"unimodal_weight": 0.2}).model.unimodal_weight == 0.2


def test_a_key_of_another_model_is_an_error_for_one_model():
    with pytest.raises(ConfigError) as err:
        resolve_config("sk-logreg", {"embed_dim": 8}, source="--set")
    valid = sorted(TRAINER_KEYS + ["model"])
    assert str(err.value) == f"--set: unknown key 'embed_dim' (valid: {', '.join(valid)})"
    with pytest.raises(ConfigError, match=r"--set: concat: unknown option 'model.C' \(valid: combine_unimodal\)"):
        resolve_config("concat", {"model": {"C": 0.5}}, source="--set")
    with pytest.raises(ConfigError, match="unknown key 'unimodal_heads'"):
        resolve_config("late", {"unimodal_heads": True})


def test_several_models_take_the_keys_they_own():
    raw = {"lr": 0.01, "embed_dim": 8, "model": {"C": 0.5}, "encoders": {"tabular": {"hidden": [8]}}}
    parts = split_config(raw, ["concat", "sk-logreg", "early"])
    assert parts["sk-logreg"] == {"lr": 0.01, "model": {"C": 0.5}}
    assert parts["concat"] == {"lr": 0.01, "embed_dim": 8, "encoders": {"tabular": {"hidden": [8]}}}
    assert parts["early"] == {"lr": 0.01, "embed_dim": 8}
    runs = resolve_configs(["concat", "sk-logreg"], raw)
    assert runs["sk-logreg"].model == LogisticRegressionConfig.load({"model": {"C": 0.5}})
    assert runs["concat"].trainer == runs["sk-logreg"].trainer
    # a key no model owns is an error listing the keys of the trainer and of every model
    with pytest.raises(ConfigError) as err:
        split_config({"embed_dim": 8}, ["sk-logreg", "sk-hgb"], source="f.yaml")
    assert str(err.value).startswith("f.yaml: unknown key 'embed_dim' (valid: accelerator,")
    with pytest.raises(ConfigError, match=r"unknown option 'model.C' \(valid: combine, combine_unimodal\)"):
        split_config({"model": {"C": 0.5}}, ["concat", "late"])
    # an option owned by one model is still checked by it
    with pytest.raises(ConfigError, match="sk-logreg: option 'model.C'"):
        resolve_configs(["concat", "sk-logreg"], {"model": {"C": -1}})


def test_a_benchmark_checks_every_key_before_training(cohort3):
    from omnifuse.evaluation.benchmark import run_benchmark

    with pytest.raises(ConfigError, match="unknown option 'model.C'"):
        run_benchmark(cohort3, ["concat", "late"], folds=2, config={"model": {"C": 0.5}})
    with pytest.raises(ConfigError, match="unknown key 'embed_dim'"):
        run_benchmark(cohort3, ["sk-logreg", "sk-hgb"], folds=2, config={"embed_dim": 8})


def test_load_config_reads_the_file_then_set(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 0.01\nembed_dim: 8\nfusion: {rank: 2}\n")
    run = load_config(path, ["fusion.rank=4", "seed=2"], model="lmf")
    assert (run.trainer.lr, run.trainer.seed, run.model.embed_dim, run.model.fusion) == (0.01, 2, 8, {"rank": 4})
    with pytest.raises(ConfigError, match=f"{path}: unknown key 'embed_dim'"):
        load_config(path, model="sk-logreg")
    raw, runs = load_configs(path, ["model.C=0.3"], ["lmf", "sk-logreg"])
    assert (
        raw["model"] == {"C": 0.3}
        and runs["sk-logreg"].model.model.C == 0.3
        and runs["lmf"].model.fusion == {"rank": 2}
    )


QUALITY_MODELS = ["omnifuse", "concat", "attention", "medfuse-lstm", "late", "sk-logreg", "sk-hgb", "sk-stack"]


def test_shipped_configs_load_for_the_models_they_serve():
    raw, runs = load_configs(CONFIGS / "physionet2012.yaml", None, QUALITY_MODELS)
    assert all(r.trainer.ensemble == 3 and r.trainer.batch_size == 128 for r in runs.values())
    assert runs["concat"].model.encoders["timeseries"]["type"] == "summary"
    assert runs["sk-logreg"].model == resolve_config("sk-logreg").model  # encoders are not its keys
    for name in ("omnifuse", "concat", "attention", "late"):
        load_config(CONFIGS / "physionet2012.yaml", model=name)
    sleep = [e.name for e in all_models() if "sleep" in e.name]
    for name, run in load_configs(CONFIGS / "medfusesleep-paper.yaml", None, sleep)[1].items():
        assert run.model.model.size == "paper" and run.model.unimodal_weight == 2.0, name
    assert get_model("medfusesleep").config_class is not None
