"""OmniFuse: the equations on hand-made cases, then the model through the public API."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from omnifuse.data.splits import train_val_test_indices
from omnifuse.errors import ConfigError
from omnifuse.imputation.patterns import all_combinations
from omnifuse.models.omnifuse import FusedOutput, OmniFuseModel
from omnifuse.models.omnifuse_objective import OmniFuseObjective, mine_lazy_combination
from omnifuse.models.omnifuse_config import OmniFuseConfig
from omnifuse.training.fit import SplitContext, fit


class Scripted(torch.nn.Module):
    """A stand-in with OmniFuse's fusion interface whose predictions are known by design.

    Embedding feature 0 of every modality is +1 for class 1 and -1 for class 0. The joint
    logit of class 1 is sum_j w_j * v_j over present modalities with w = (+5, -1, -1):
    modality 0 is informative, modalities 1 and 2 point the wrong way, so the worst
    combination (the lazy one) is {1, 2}.
    """

    modalities = ("m0", "m1", "m2")
    task = "binary"

    def __init__(self, distance: str = "ce") -> None:
        super().__init__()
        self.w = torch.tensor([5.0, -1.0, -1.0])
        self.options = type("Options", (), {"tla_distance": distance, "tla_share": 1.0})()

    def encode(self, inputs, mask):
        return {m: inputs[m] for m in self.modalities}, {}

    def absent_embeddings(self, inputs):
        return torch.zeros(3, 1)

    def fuse(self, v, mask, absent):
        v = torch.where(mask.unsqueeze(-1), v, absent.unsqueeze(0))
        score = (v[..., 0] * self.w).sum(dim=1)
        return FusedOutput(torch.stack([torch.zeros_like(score), score], dim=1), [], v)


def scripted_batch(mask_rows):
    y = torch.tensor([0, 1] * (len(mask_rows) // 2))
    sign = (2 * y - 1).float().view(-1, 1)
    inputs = {m: sign.clone() for m in Scripted.modalities}
    return {"inputs": inputs, "mask": torch.tensor(mask_rows, dtype=torch.bool), "y": y}


def test_tla_mining_picks_the_constructed_lazy_combination():
    combos = all_combinations(3)
    batch = scripted_batch([[1, 1, 1]] * 8)
    totals, counts = mine_lazy_combination(Scripted(), [batch], combos)
    assert counts.tolist() == [8.0] * 7
    scores = totals / counts
    lazy = combos[int(scores.argmax())].tolist()
    assert lazy == [False, True, True]
    # hand-computed mean CE of {1, 2}: logit of the true class is -2 -> CE = log(1 + e^2)
    assert math.isclose(
        float(scores[combos.tolist().index([False, True, True])]), math.log1p(math.exp(2)), rel_tol=1e-5
    )
    # and of {0}: CE = log(1 + e^-5)
    assert math.isclose(float(scores[0]), math.log1p(math.exp(-5)), rel_tol=1e-5)


def test_mining_scores_a_combination_only_on_samples_that_have_it():
    combos = all_combinations(3)
    batch = scripted_batch([[1, 1, 0], [1, 1, 0]])  # nobody has m2
    totals, counts = mine_lazy_combination(Scripted(), [batch], combos)
    scores = totals / counts
    has_m2 = combos[:, 2]
    assert torch.isnan(scores[has_m2]).all() and not torch.isnan(scores[~has_m2]).any()
    assert combos[int(torch.nan_to_num(scores, nan=-1).argmax())].tolist() == [False, True, False]


def test_other_distances_pick_the_same_combination():
    combos = all_combinations(3)
    batch = scripted_batch([[1, 1, 1]] * 8)
    for kind, worst in (("brier", 2 * (1 / (1 + math.exp(-2))) ** 2), ("error", 1.0)):
        totals, counts = mine_lazy_combination(Scripted(kind), [batch], combos)
        scores = totals / counts
        assert combos[int(scores.argmax())].tolist() == [False, True, True] or kind == "error"
        assert math.isclose(float(scores.max()), worst, rel_tol=1e-5)


def test_tla_loss_counts_only_samples_with_the_whole_lazy_combination():
    model = Scripted()
    objective = OmniFuseObjective()
    objective.lazy = torch.tensor([False, True, True])
    batch = scripted_batch([[1, 1, 0], [1, 1, 0]])  # nobody has m2: no TLA sample
    output = type("Out", (), {"embeddings": batch["inputs"], "logits": torch.zeros(2, 2)})()
    assert float(objective.tla_loss(model, output, batch)) == 0.0


def test_tla_loss_uses_only_the_lazy_modalities():
    model = Scripted()
    objective = OmniFuseObjective()
    objective.lazy = torch.tensor([False, True, True])
    batch = scripted_batch([[1, 1, 1]] * 4)
    output = type("Out", (), {"embeddings": batch["inputs"], "logits": torch.zeros(4, 2)})()
    loss = objective.tla_loss(model, output, batch)
    assert math.isclose(float(loss), math.log1p(math.exp(2)), rel_tol=1e-5)


def test_combinations_are_bounded_above_the_exhaustive_limit():
    objective = OmniFuseObjective(seed=3)
    assert objective.combinations(3, 6, 32).shape == (7, 3)
    big = objective.combinations(8, 6, 40)
    assert big.shape[0] <= 8 + 40 and big.any(dim=1).all()
    assert torch.eye(8, dtype=torch.bool).tolist()[0] in big.tolist()


@pytest.fixture(scope="module")
def cohort(request):
    from omnifuse.data.simulate import default_cohort

    ds, truth = default_cohort(3, seed=2, n_samples=300)
    return ds, truth


def small(**model):
    return OmniFuseConfig.load(
        {"embed_dim": 8, "head_hidden": 8, "model": {"n_blocks": 2, "cra_hidden": 16, "cra_latent": 4, **model}},
        "omnifuse",
    )


def test_forward_contract_and_imputation_targets(cohort):
    ds, _ = cohort
    from omnifuse.data.collate import make_batch

    model = OmniFuseModel.from_dataset(ds, small())
    batch = make_batch(ds, np.arange(40))
    model.train()
    out = model(batch["inputs"], batch["mask"])
    assert out.logits.shape == (40, 2) and set(out.modality_logits) == set(ds.modalities)
    assert out.weights.shape == (40, 3) and torch.isfinite(out.weights).all()
    assert set(out.losses) == {"imp_forward", "imp_backward"}
    # present modalities keep their own embedding; absent ones get the imputed one
    model.eval()
    out = model(batch["inputs"], batch["mask"])
    assert out.losses == {}
    embeddings, _ = model.encode(batch["inputs"], batch["mask"])
    j = 0
    present = batch["mask"][:, j]
    torch.testing.assert_close(out.embeddings[ds.modalities[j]][present], embeddings[ds.modalities[j]][present])


def test_single_modality_samples_give_no_forward_target(cohort):
    ds, _ = cohort
    model = OmniFuseModel.from_dataset(ds, small())
    v = torch.randn(4, 3, 8)
    mask = torch.tensor([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.bool)
    losses = model.imputation_losses(v, mask, torch.zeros(3, 8))
    assert float(losses["imp_forward"].detach()) == 0.0


def test_configuration_errors(cohort):
    ds, _ = cohort
    with pytest.raises(ConfigError, match="imp_backward needs model.imp_forward"):
        OmniFuseModel.from_dataset(ds, small(imp_forward=False, imp_backward=True))
    with pytest.raises(ConfigError, match="omnifuse: unknown option .model.bogus. .valid: dwfuse"):
        OmniFuseModel.from_dataset(ds, small(bogus=1))
    with pytest.raises(ConfigError, match="does not support multilabel"):
        OmniFuseModel(ds.specs, "multilabel", 2, small())


def test_task_loss_weight_follows_eq_14(cohort):
    ds, _ = cohort
    objective = OmniFuseObjective()

    def weight(cfg):  # the objective weights the training module's CE(o, y)
        return objective.task_weight(SimpleNamespace(model=OmniFuseModel.from_dataset(ds, cfg)))

    assert weight(small()) == pytest.approx(10 * 0.1)
    assert weight(small(dwfuse=False)) == 1.0


@pytest.mark.parametrize("name", ["omnifuse", "omnifuse-a", "omnifuse-c", "omnifuse-e"])
def test_variants_train_and_trace_the_lazy_combination(cohort, name):
    ds, truth = cohort
    train, val, test = train_val_test_indices(ds, 0.2, 0.2, seed=0)
    fitted = fit(name, SplitContext(ds, train, val), {"max_epochs": 3, "embed_dim": 16, "head_hidden": 16})
    probs = fitted.predict_proba(test)
    assert np.isfinite(probs).all()
    lazy_trace = fitted.history.get("omnifuse", {}).get("lazy_history", [])
    if name in ("omnifuse", "omnifuse-c"):
        assert len(lazy_trace) == 3 and all(set(e["lazy"]) <= set(ds.modalities) for e in lazy_trace)
        assert len(lazy_trace[0]["scores"]) == 7
    else:
        assert lazy_trace == []


def test_per_patient_details_name_imputed_modalities_and_omega(cohort):
    ds, _ = cohort
    train, val, test = train_val_test_indices(ds, 0.2, 0.2, seed=0)
    fitted = fit("omnifuse", SplitContext(ds, train, val), {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8})
    details = fitted.predict_details(test)
    np.testing.assert_allclose(details.probs, fitted.predict_proba(test), atol=1e-6)
    assert set(details.modality_probs) == set(ds.modalities)
    present = ds.mask[test]
    assert details.weights.shape == (len(test), 3) and (details.weights <= 1).all()
    assert (details.weights[present] > 0).all() and (details.weights[~present] == 0).all()
    np.testing.assert_array_equal(details.imputed, ~ds.mask[test])
    no_imp = fit("omnifuse-c", SplitContext(ds, train, val), {"max_epochs": 1, "embed_dim": 8}).predict_details(test)
    assert not no_imp.imputed.any() and no_imp.absent.any()
