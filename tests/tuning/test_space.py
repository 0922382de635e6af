"""Search spaces: spec checks, composition from the parts a model uses, overrides, sampling."""

from __future__ import annotations

import optuna
import pytest

from omnifuse.errors import ConfigError
from omnifuse.models import all_models
from omnifuse.models.config import SIZE_SPACE
from omnifuse.training.config import TRAINER_SPACE, load_config
from omnifuse.tuning import check_spec, compose_space, load_space_file, nest, override_space, suggest


def test_specs_are_normalised_and_bad_ones_name_the_key():
    assert check_spec("lr", {"type": "float", "low": 1e-4, "high": 1e-2, "log": True})["log"] is True
    assert check_spec("embed_dim", {"type": "int", "low": 16, "high": 64, "step": 16}) == {
        "type": "int",
        "low": 16,
        "high": 64,
        "log": False,
        "step": 16,
    }
    bad = [
        ({"type": "normal"}, "unknown spec type 'normal'"),
        ({"type": "float", "low": 1, "high": 0}, "low 1.0 is above high 0.0"),
        ({"type": "float", "low": 0, "high": 1, "log": True}, "a log scale needs low > 0"),
        ({"type": "int", "low": 1.5, "high": 4}, "'low' must be an integer"),
        ({"type": "categorical", "choices": []}, "'choices' must be a non-empty list"),
        ({"type": "float", "low": 0, "high": 1, "mean": 3}, "unknown spec field 'mean'"),
        (3, "a spec must be a mapping"),
    ]
    for spec, message in bad:
        with pytest.raises(ConfigError, match="'model.C'") as err:
            check_spec("model.C", spec, source="s.yaml")
        assert message in str(err.value) and str(err.value).startswith("s.yaml: ")


def test_every_declared_space_is_valid(cohort):
    for entry in all_models():
        if entry.name.endswith("sleep") or "sleep" in entry.name:
            continue  # sleep models need sleep data
        space = compose_space(entry, cohort)  # checks every spec
        assert all(
            k.split(".")[0] in ("model", "fusion", "strategy", "encoders")
            or k in TRAINER_SPACE
            or k in SIZE_SPACE
            or k == "unimodal_weight"
            for k in space
        ), entry.name


def test_space_follows_the_parts_in_use(cohort):
    assert list(compose_space("sk-logreg", cohort)) == ["model.C"]
    concat = compose_space("concat", cohort)
    assert set(TRAINER_SPACE) <= set(concat) and "encoders.tabular.hidden" in concat
    assert set(SIZE_SPACE) <= set(concat)  # the sizes moved to the neural model config, still tuned
    assert "encoders.omics.hidden" in concat and "encoders.omics.noise_std" not in concat
    assert "fusion.rank" in compose_space("lmf", cohort)
    dae = compose_space("concat", cohort, {"encoders": {"omics": {"type": "dae"}}})
    assert "encoders.omics.noise_std" in dae
    blend = compose_space("g-blend", cohort, {"strategy": {"base": "lmf"}})
    assert {"strategy.floor", "fusion.rank"} <= set(blend)
    omnifuse = compose_space("omnifuse", cohort)
    assert {"model.lambda1", "model.lambda2", "model.lambda3", "model.alpha", "model.beta"} <= set(omnifuse)
    assert "model.lambda1" not in compose_space("omnifuse-c", cohort)  # row (c) has no backward cycle
    assert "encoders.tabular.hidden" not in compose_space("early", cohort)


def test_overrides_add_replace_and_remove(tmp_path):
    space = {"model.C": check_spec("model.C", {"type": "float", "low": 1e-4, "high": 10, "log": True})}
    out = override_space(space, {"model.C": None, "patience": {"type": "int", "low": 2, "high": 5}})
    assert list(out) == ["patience"]
    path = tmp_path / "space.yaml"
    path.write_text("model.C: {type: categorical, choices: [0.1, 1.0]}\n")
    assert override_space(space, load_space_file(path), str(path))["model.C"]["choices"] == [0.1, 1.0]
    errors = [
        ({"max_epoch": {"type": "int", "low": 1, "high": 3}}, "unknown key 'max_epoch'"),
        ({"model": {"type": "int", "low": 1, "high": 3}}, "unknown key 'model' (expected model.<option>)"),
        ({"lr.x": {"type": "int", "low": 1, "high": 3}}, "unknown key 'lr.x' (expected lr)"),
        ({"fusion.rank": None}, "'fusion.rank' is not in the search space"),
    ]
    for overrides, message in errors:
        with pytest.raises(ConfigError) as err:
            override_space(space, overrides, str(path))
        assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    path.write_text("- a\n")
    with pytest.raises(ConfigError, match="a search space must be a mapping"):
        load_space_file(path)


def test_sampled_values_nest_into_a_valid_config():
    space = {
        k: check_spec(k, v)
        for k, v in {
            "lr": {"type": "float", "low": 1e-4, "high": 1e-2, "log": True},
            "model.C": {"type": "categorical", "choices": [0.5]},
            "encoders.omics.hidden": {"type": "int", "low": 8, "high": 8},
        }.items()
    }
    trial = optuna.create_study().ask()
    values = suggest(trial, space)
    nested = nest(values)
    assert nested["model"] == {"C": 0.5} and nested["encoders"] == {"omics": {"hidden": 8}}
    assert 1e-4 <= load_config(None, [f"lr={values['lr']}"], model="concat").trainer.lr <= 1e-2
