"""Every registered part is tested, and a new part is one class with one decorator.

Completeness (braindecode's ``test_completeness`` idea): the contract tests of each registry
run over every registered part and read that part's case from a dict in their module
(constructor options, a sample writer, what a strategy must record); the dicts must name
exactly the registered parts, so a part added without a test case fails here.

Adding a part: a toy fusion operator, encoder, strategy and dataset format, each one small
class with one decorator, are usable end to end. They are registered inside
``Registry.isolated()``, so none of them leaks into other tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import tests.balance.test_end_to_end as strategy_tests
import tests.data.loaders.test_formats as format_tests
import tests.encoders.test_contract as encoder_tests
import tests.fusion.test_contract as fusion_tests
from omnifuse.balance.base import STRATEGIES, Strategy
from omnifuse.models.strategies import build_strategy_model
from omnifuse.data.dataset import MultimodalDataset
from omnifuse.data.loaders import FORMATS, DatasetFormat, load_dataset, write_folder
from omnifuse.data.simulate import make_lowquality
from omnifuse.data.spec import ModalitySpec
from omnifuse.encoders import ENCODERS, KIND_TYPES, Encoder, build_encoder
from omnifuse.errors import ConfigError, DataError
from omnifuse.fusion.base import FUSIONS, FusionOperator, FusionOutput, masked
from omnifuse.models.fusion_model import FusionModel, build_fusion
from omnifuse.models.registry import MODELS, all_models, get_model
from omnifuse.models.config import StrategyConfig
from omnifuse.training.fit import SplitContext, fit
from omnifuse.utils.registry import Registry
from tests.cli.test_app import run

FAST = {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8, "batch_size": 32}

#: registry -> (its contract tests' per-part cases, where they are)
CASES: dict[str, tuple[Registry[Any], dict[str, Any], str]] = {
    "fusion": (FUSIONS, fusion_tests.OPTIONS, "tests/fusion/test_contract.py: OPTIONS"),
    "encoder": (ENCODERS, encoder_tests.OPTIONS, "tests/encoders/test_contract.py: OPTIONS"),
    "strategy": (STRATEGIES, strategy_tests.CHECKS, "tests/balance/test_end_to_end.py: CHECKS"),
    "format": (FORMATS, format_tests.SAMPLES, "tests/data/loaders/test_formats.py: SAMPLES"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_every_registered_part_has_a_test_case(kind: str) -> None:
    registry, cases, where = CASES[kind]
    names = set(registry.names())
    assert not names - set(cases), f"add a test case for {registry.what} {sorted(names - set(cases))} to {where}"
    assert not set(cases) - names, f"{where} has cases for unregistered {sorted(set(cases) - names)}"


def test_every_model_is_trained_by_a_test() -> None:
    """tests/training/test_fit.py trains every model but the sleep sequence models, which
    tests/models/sleep covers by name, and the survival models, which
    tests/models/test_sklearn_survival.py covers by name."""
    from tests.models.sleep.conftest import NAMES as SLEEP_MODELS
    from tests.models.test_sklearn_survival import NAMES as SURVIVAL_MODELS
    from tests.training.test_fit import _sequence_model, _survival_model

    sequence_models = {entry.name for entry in all_models() if _sequence_model(entry)}
    assert sequence_models == set(SLEEP_MODELS)
    survival_models = {entry.name for entry in all_models() if _survival_model(entry)}
    assert survival_models == set(SURVIVAL_MODELS)


# ---------------------------------------------------------------------- adding a part
@pytest.fixture(scope="module")
def cohort() -> MultimodalDataset:
    ds, _ = make_lowquality(2, n_samples=80, seed=0)  # two tabular modalities
    return ds


def context_of(ds: MultimodalDataset) -> SplitContext:
    return SplitContext(ds, np.arange(50), np.arange(50, 65))


def check_predicts(fitted: Any, ds: MultimodalDataset) -> None:
    probs = fitted.predict_proba(np.arange(65, len(ds)))
    assert probs.shape == (len(ds) - 65, 2) and np.isfinite(probs).all()


def test_a_toy_fusion_is_a_model_name(
    cohort: MultimodalDataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_folder(cohort, tmp_path / "cohort")
    with FUSIONS.isolated():

        @FUSIONS.register
        class ToyMeanFusion(FusionOperator):
            """Mean of the present embeddings."""

            name = "toy-mean"
            paper = "a test"

            def __init__(self, n_modalities: int, dim: int) -> None:
                super().__init__(n_modalities, dim)
                self.output_dim = dim
                self.scale = nn.Parameter(torch.ones(dim))

            def forward(self, z: torch.Tensor, mask: torch.Tensor) -> FusionOutput:
                count = mask.sum(dim=1, keepdim=True).clamp(min=1)
                return FusionOutput(self.scale * masked(z, mask).sum(dim=1) / count)

        assert type(build_fusion("toy-mean", 3, 8, {})) is ToyMeanFusion
        assert get_model("toy-mean").kind == "fusion"
        code, _, err = run(
            monkeypatch,
            capsys,
            "train",
            "--data",
            str(data),
            "--model",
            "toy-mean",
            "--set",
            "max_epochs=2",
            "--set",
            "embed_dim=8",
            "--out",
            str(tmp_path / "run"),
        )
        assert code == 0, err
        assert json.loads((tmp_path / "run" / "run.json").read_text())["model"] == "toy-mean"
    assert "toy-mean" not in FUSIONS and "toy-mean" not in MODELS
    with pytest.raises(ConfigError, match="unknown fusion 'toy-mean'"):
        build_fusion("toy-mean", 3, 8, {})


def test_a_toy_encoder_serves_its_kind(cohort: MultimodalDataset) -> None:
    spec = ModalitySpec("clin", "tabular", ("a", "b", "c"), (3,))
    with ENCODERS.isolated():

        @ENCODERS.register
        class ToyLinearEncoder(Encoder):
            """One linear map, scaled."""

            name = "toy-linear"
            kinds = ("tabular",)

            def __init__(self, input_dim: int, output_dim: int = 64, scale: float = 1.0) -> None:
                super().__init__()
                self.input_dim, self.output_dim, self.scale = input_dim, output_dim, scale
                self.linear = nn.Linear(input_dim, output_dim)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.scale * self.linear(x.float())

        enc = build_encoder(spec, 8, {"type": "toy-linear", "scale": 2.0})
        assert type(enc) is ToyLinearEncoder and enc.scale == 2.0
        assert KIND_TYPES["tabular"] == ("mlp", "toy-linear")
        assert type(build_encoder(spec, 8)).__name__ == "MLPEncoder"  # the kind's default is unchanged
        config = {**FAST, "encoders": {"tabular": {"type": "toy-linear"}}}
        fitted = fit("concat", context_of(cohort), config)
        assert all(type(e) is ToyLinearEncoder for e in fitted.model.encoders.values())
        check_predicts(fitted, cohort)
    assert KIND_TYPES["tabular"] == ("mlp",)
    with pytest.raises(ConfigError, match="unknown encoder type 'toy-linear'"):
        build_encoder(spec, 8, {"type": "toy-linear"})


def test_a_toy_strategy_builds_a_strategy_model(cohort: MultimodalDataset) -> None:
    with STRATEGIES.isolated():

        @STRATEGIES.register
        class ToyPenalty(Strategy):
            """Penalises large joint logits."""

            name = "toy-penalty"
            paper = "a test"

            def __init__(self, weight: float = 0.1) -> None:
                self.weight = weight
                self.calls = 0

            def loss_terms(self, output: Any, batch: dict[str, Any], module: Any) -> dict[str, torch.Tensor]:
                self.calls += 1
                return {"toy": self.weight * output.logits.pow(2).mean()}

        config = StrategyConfig.for_strategy(ToyPenalty).load({"strategy": {"weight": 0.5, "base": "sum"}})
        model, hooks = build_strategy_model(cohort, config, ToyPenalty)
        assert isinstance(model, FusionModel) and model.fusion_name == "sum"
        assert len(hooks) == 1 and type(hooks[0]) is ToyPenalty and hooks[0].weight == 0.5
        assert get_model("toy-penalty").kind == "strategy"
        fitted = fit("toy-penalty", context_of(cohort), FAST)
        check_predicts(fitted, cohort)
    assert "toy-penalty" not in STRATEGIES and "toy-penalty" not in MODELS


def test_a_toy_format_is_loaded_by_load_dataset(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "toy.json").write_text(json.dumps({"n_samples": 30}))
    with FORMATS.isolated():

        @FORMATS.register
        class ToyFormat(DatasetFormat):
            """A ``toy.json`` naming how many samples to simulate."""

            name = "toy"
            description = "a folder with toy.json"
            priority = 5

            @classmethod
            def detect(cls, path: Path) -> bool:
                return (path / "toy.json").is_file()

            @classmethod
            def load(
                cls, path: Path, *, use_cache: bool = True, progress: bool = False, strict: bool = False
            ) -> MultimodalDataset:
                n = json.loads((path / "toy.json").read_text())["n_samples"]
                return make_lowquality(2, n_samples=n, seed=0)[0]

        assert len(load_dataset(folder)) == 30
        with pytest.raises(DataError, match=r"not a recognised dataset \(expected a folder with toy.json, a PhysioNet"):
            load_dataset(tmp_path)
    with pytest.raises(DataError, match="not a recognised dataset") as info:
        load_dataset(folder)
    assert "toy.json" not in str(info.value)
