"""Nested tuning in benchmarks: configs chosen per outer fold, on its training pool only."""

from __future__ import annotations

import numpy as np

from omnifuse.evaluation.benchmark import plan_repeats
from omnifuse.tuning import nested, tuned_benchmark


def test_nested_benchmark_records_a_config_per_fold(cohort, toy_model, monkeypatch):
    real_tune, pools = nested.tune, []

    def spy(ds, model, n_trials, **kwargs):
        pools.append((model, set(ds.sample_ids)))
        return real_tune(ds, model, n_trials, **kwargs)

    monkeypatch.setattr(nested, "tune", spy)
    config = {"max_epochs": 2, "embed_dim": 8, "head_hidden": 8}
    results = tuned_benchmark(cohort, [toy_model, "sum"], trials=2, tune_folds=2, folds=2, config=config, n_boot=20)
    assert results.protocol.tuning["trials"] == 2 and results.protocol.tuning["nested"] is True
    knobs = results.methods[toy_model].tuned_configs
    assert len(knobs) == 2 and all(set(c) == {"model"} and 0 <= c["model"]["knob"] <= 1 for c in knobs)
    assert len(results.methods["sum"].tuned_configs) == 2 and "lr" in results.methods["sum"].tuned_configs[0]
    repeats = plan_repeats(cohort, folds=2, val_fraction=0.2)
    for k, rep in enumerate(repeats):  # every tuning of fold k saw its outer training pool and nothing else
        pool = set(cohort.sample_ids[np.concatenate([rep.train, rep.val])])
        assert all(ids == pool for _, ids in pools[2 * k : 2 * k + 2])
        assert not pool & set(cohort.sample_ids[rep.test])
