"""Seed ensembles: K members, averaged probabilities, spread, one bundle."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from omnifuse.data.splits import holdout_indices
from omnifuse.models.ensemble import EnsembleModel
from omnifuse.serving import load_bundle
from omnifuse.serving.bundle import save_bundle
from omnifuse.training.fit import SplitContext, fit

FAST = {"max_epochs": 3, "embed_dim": 8, "head_hidden": 8}


@pytest.fixture(scope="module")
def split(cohort3):
    pool, test = holdout_indices(cohort3, np.arange(len(cohort3)), 0.25, seed=0)
    train, val = holdout_indices(cohort3, pool, 0.2, seed=0)
    return SplitContext(cohort3, train, val), test


def test_members_differ_and_probabilities_are_their_mean(split):
    context, test = split
    fitted = fit("concat", context, {**FAST, "ensemble": 3})
    assert isinstance(fitted.model, EnsembleModel) and len(fitted.model.members) == 3
    assert fitted.history["ensemble"]["seeds"] == [0, 1, 2]
    batch = context.store.batch(test)
    fitted.model.eval()
    with torch.no_grad():
        member_probs = torch.stack(
            [torch.softmax(m(batch["inputs"], batch["mask"]).logits, -1) for m in fitted.model.members]
        )
    assert not torch.allclose(member_probs[0], member_probs[1])  # different seeds and carvings
    np.testing.assert_allclose(fitted.predict_proba(test), member_probs.mean(0).numpy(), atol=1e-5)
    details = fitted.predict_details(test)
    np.testing.assert_allclose(details.spread, member_probs.std(0, unbiased=False).numpy(), atol=1e-5)
    assert fitted.n_params() == 3 * sum(p.numel() for p in fitted.model.members[0].parameters())


def test_member_validation_sets_come_from_the_training_pool(split, monkeypatch):
    from omnifuse.training import ensemble

    context, test = split
    seen = []
    real = ensemble.fit_one

    def spy(entry, ctx, cfg, **kwargs):
        seen.append((ctx.train.copy(), None if ctx.val is None else ctx.val.copy()))
        return real(entry, ctx, cfg, **kwargs)

    monkeypatch.setattr(ensemble, "fit_one", spy)
    fit("concat", context, {**FAST, "ensemble": 3})
    pool = set(context.train) | set(context.val)
    assert len(seen) == 3
    for train, val in seen:
        assert set(train) | set(val) == pool and not set(train) & set(val)
        assert not (set(train) | set(val)) & set(test)
    assert not np.array_equal(np.sort(seen[1][1]), np.sort(seen[2][1]))


def test_an_ensemble_bundle_reloads_to_the_same_answers(split, tmp_path):
    context, test = split
    fitted = fit("attention", context, {**FAST, "ensemble": 2})
    save_bundle(fitted, tmp_path / "bundle")
    bundle = load_bundle(tmp_path / "bundle")
    assert isinstance(bundle.model, EnsembleModel) and bundle.config.trainer.ensemble == 2
    again = bundle.fitted(context.dataset)
    np.testing.assert_array_equal(again.predict_proba(test), fitted.predict_proba(test))
    from omnifuse.serving.answers import Predictor
    from omnifuse.serving.api_models import Prediction

    answers = Predictor(bundle).answers(context.dataset.subset(test[:4]))
    spread = answers[0]["ensemble_spread"]
    assert set(spread) == set(context.dataset.class_names) and all(v >= 0 for v in spread.values())
    Prediction.model_validate(answers[0])  # the served schema carries it


def test_baselines_ignore_the_ensemble_setting(split):
    context, test = split
    fitted = fit("sk-logreg", context, {"ensemble": 4})
    assert not fitted.is_neural and fitted.predict_proba(test).shape == (len(test), 2)


def test_auto_monitor_watches_auroc_when_validation_has_every_class(split, cohort3):
    context, _ = split
    assert fit("concat", context, FAST).config.trainer.monitor == "val_auroc"
    negatives = np.flatnonzero(cohort3.y == 0)
    one_class = SplitContext(cohort3, context.train, negatives[:10])
    assert fit("concat", one_class, FAST).config.trainer.monitor == "val_loss"


def test_an_omnifuse_ensemble_reports_embeddings_for_the_report(split):
    context, test = split
    fitted = fit("omnifuse", context, {**FAST, "ensemble": 2})
    out = next(fitted.outputs(test[:5]))
    assert set(out.embeddings) == set(context.dataset.modalities)
    assert fitted.predict_details(test[:5]).imputed.dtype == bool
