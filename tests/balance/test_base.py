"""Strategy base class, configuration and registration from class metadata."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import omnifuse.models.strategies  # noqa: F401  (registers the strategies)
from omnifuse.balance import OGMGE, PMR, AlignmentLoss, GBlend, ModalityDropout, Strategy, all_strategies
from omnifuse.errors import ConfigError
from omnifuse.models.omnifuse_objective import OmniFuseObjective
from omnifuse.models.registry import first_line, get_model
from omnifuse.models.config import entry_config
from omnifuse.tasks import TASK_NAMES

EXPECTED = {
    "g-blend": GBlend,
    "ogm-ge": OGMGE,
    "pmr": PMR,
    "modality-dropout": ModalityDropout,
    "alignment": AlignmentLoss,
}


def test_subclasses_have_metadata() -> None:
    found = {cls.name: cls for cls in all_strategies()}
    assert found == EXPECTED
    # OmniFuse's objective is a strategy too, built by the OmniFuse entries, not a model of its own
    assert issubclass(OmniFuseObjective, Strategy) and OmniFuseObjective.name not in found
    for cls in found.values():
        assert issubclass(cls, Strategy)
        assert cls.kind == "strategy"
        assert cls.paper and cls.__doc__
        assert set(cls.tasks) <= set(TASK_NAMES)
        assert "survival" in cls.tasks  # every strategy trains survival models too


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_entry_from_class(name: str) -> None:
    entry = get_model(name)
    cls = EXPECTED[name]
    assert entry.kind == "strategy"
    assert entry.paper == cls.paper
    assert entry.description == first_line(cls.__doc__)
    assert entry.defaults == cls.defaults
    # the strategies reading unimodal heads turn them on; ogm-ge also trains them
    assert entry.defaults.get("unimodal_heads", False) is (name in ("g-blend", "ogm-ge"))
    assert (entry.defaults.get("unimodal_weight", 0) > 0) is (name == "ogm-ge")


def test_base_hooks_are_noops() -> None:
    s = Strategy()
    batch = {"y": 1}
    assert s.transform_batch(batch, None) is batch  # type: ignore[arg-type]
    assert s.loss_terms(None, batch, None) == {}  # type: ignore[arg-type]


def test_from_config_reads_strategy_section_and_ignores_base() -> None:
    cfg = entry_config(get_model("ogm-ge"), {"strategy": {"alpha": 0.7, "modulation_ends": 5, "base": "sum"}})
    s = OGMGE.from_config(cfg)
    assert s.alpha == 0.7 and s.modulation_ends == 5
    assert GBlend.from_config({"every": 2}).every == 2
    assert ModalityDropout.from_config(None).p == 0.2


def test_unknown_option_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as err:
        PMR.from_config({"alpah": 1.0})
    msg = str(err.value)
    assert "alpah" in msg
    for valid in ("alpha", "mu", "momentum", "entropy_epochs", "base"):
        assert valid in msg


def test_bad_values_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        ModalityDropout.from_config({"p": 1.5})
    with pytest.raises(ConfigError):
        GBlend.from_config({"every": 0})
    with pytest.raises(ConfigError):
        OGMGE.from_config({"reduction": "median"})


@pytest.mark.parametrize("cls", [PMR, OGMGE])
def test_multilabel_rejected_before_training(cls: type[Strategy]) -> None:
    with pytest.raises(ConfigError, match="multilabel"):
        cls.from_config({}, task="multilabel")
    entry = get_model(cls.name)
    fake = SimpleNamespace(task="multilabel")  # the check runs before anything reads the data
    with pytest.raises(ConfigError, match="multilabel"):
        entry.build(fake, entry_config(entry))


def test_unknown_base_fusion() -> None:
    from omnifuse.data.simulate import make_lowquality

    ds, _ = make_lowquality(2, n_samples=20)
    entry = get_model("alignment")
    with pytest.raises(ConfigError, match="base fusion"):  # when the config is loaded, before any build
        entry.build(ds, entry_config(entry, {"strategy": {"base": "nope"}}))
    model, hooks = entry.build(ds, entry_config(entry, {"strategy": {"base": "sum", "weight": 0.3}}))
    assert model.fusion_name == "sum" and model.unimodal_heads is None
    assert len(hooks) == 1 and isinstance(hooks[0], AlignmentLoss) and hooks[0].weight == 0.3
