"""`tune`: finds a planted optimum, resumes its study, never sees test samples, prunes."""

from __future__ import annotations

import numpy as np
import optuna
import pytest

from omnifuse.errors import ConfigError
from omnifuse.tuning import objective, tune
from omnifuse.tuning.study import STUDY_NAME
from tests.tuning.conftest import PEAK, signal_cohort

KNOB = {"model.knob": {"type": "float", "low": 0.0, "high": 1.0}}


def test_finds_the_planted_optimum(cohort, toy_model):
    result = tune(cohort, toy_model, 16, folds=3)
    assert abs(result.best_params["model.knob"] - PEAK) < 0.15
    assert result.best_config == {"model": {"knob": result.best_params["model.knob"]}}
    assert result.summary.n_complete + result.summary.n_pruned == 16  # baselines are pruned between folds
    assert result.summary.importances == {"model.knob": 1.0}


def test_resume_continues_the_same_study(cohort, toy_model, tmp_path, monkeypatch):
    out = tmp_path / "tune"
    real_fit, calls = objective.fit, []

    def dies_in_trial_three(*args, **kwargs):  # a kill in the middle of trial 3 (fold 2 of 3)
        calls.append(1)
        if len(calls) == 3 * 3 + 2:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(objective, "fit", dies_in_trial_three)
    with pytest.raises(KeyboardInterrupt):
        tune(cohort, toy_model, 6, out=out)
    monkeypatch.setattr(objective, "fit", real_fit)
    with pytest.raises(ConfigError, match="already holds a tuning study .* pass --resume"):
        tune(cohort, toy_model, 6, out=out)
    with pytest.raises(ConfigError, match="cannot resume a study started with a different metric"):
        tune(cohort, toy_model, 6, out=out, resume=True, metric="auprc")
    result = tune(cohort, toy_model, 6, out=out, resume=True)
    study = optuna.load_study(study_name=STUDY_NAME, storage=f"sqlite:///{out / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert [t.number for t in study.trials] == list(range(7))  # numbering continues after the killed trial
    finished = states.count("COMPLETE") + states.count("PRUNED")
    assert states[3] == "FAIL" and finished == 6 and result.summary.n_complete + result.summary.n_pruned == 6
    more = tune(cohort, toy_model, 8, out=out, resume=True)
    assert more.summary.n_complete + more.summary.n_pruned == 8 and len(more.study.trials) == 9
    assert (out / "best.yaml").exists() and (out / "trials.csv").read_text().count("\n") == 10
    with pytest.raises(ConfigError, match="nothing to resume"):
        tune(cohort, toy_model, 2, out=tmp_path / "empty", resume=True)


def test_test_samples_never_reach_the_objective(toy_model, monkeypatch):
    clean = signal_cohort()
    poisoned = signal_cohort()
    test = poisoned.split_indices("test")
    poisoned.labels.y[test] = 1 - poisoned.labels.y[test]
    poisoned.data["clin"][test] = 1e6
    test_ids = set(clean.sample_ids[test])
    real_fit, seen = objective.fit, []

    def spy(model, context, config, **kwargs):
        seen.append(set(context.dataset.sample_ids))
        return real_fit(model, context, config, **kwargs)

    monkeypatch.setattr(objective, "fit", spy)
    runs = [tune(ds, toy_model, 5, folds=3, test_split="test") for ds in (clean, poisoned)]
    assert seen and all(not (ids & test_ids) for ids in seen)
    values = [[t.value for t in r.study.trials] for r in runs]
    assert values[0] == values[1] and runs[0].best_params == runs[1].best_params
    assert runs[0].summary.n_samples == len(clean) - len(test)


def test_space_overrides_and_their_errors(cohort, toy_model):
    fixed = tune(cohort, toy_model, 2, space={"model.knob": {"type": "categorical", "choices": [0.7]}})
    assert fixed.best_params == {"model.knob": 0.7}
    with pytest.raises(ConfigError, match="^s.yaml: 'fusion.rank' is not in the search space"):
        tune(cohort, toy_model, 2, space={"fusion.rank": None}, space_source="s.yaml")
    with pytest.raises(ConfigError, match="^s.yaml: the search space gives a config model 'lmf' rejects"):
        tune(cohort, "lmf", 2, space={"fusion.rank": {"type": "int", "low": 0, "high": 2}}, space_source="s.yaml")
    with pytest.raises(ConfigError, match="has no hyperparameters to tune"):
        tune(cohort, toy_model, 2, space={"model.knob": None})


class PruneAfterFirstEpoch(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number > 0 and trial.last_step is not None and trial.last_step >= 1


def test_neural_trials_are_pruned_per_epoch(cohort):
    space = {"lr": {"type": "float", "low": 1e-3, "high": 1e-2, "log": True}}
    result = tune(
        cohort,
        "concat",
        3,
        folds=2,
        space={k: None for k in _concat_space(cohort) if k not in space} | space,
        config={"max_epochs": 4, "embed_dim": 8, "head_hidden": 8},
        pruner=PruneAfterFirstEpoch(),
    )
    trials = result.study.trials
    assert [t.state.name for t in trials] == ["COMPLETE", "PRUNED", "PRUNED"]
    assert all(sorted(t.intermediate_values) == [0, 1] for t in trials[1:])  # stopped after epoch 1 of fold 0
    assert max(trials[0].intermediate_values) >= 4  # the complete trial reported fold 1 at offset max_epochs
    assert result.summary.n_pruned == 2 and np.isfinite(result.best_value)


def _concat_space(ds):
    from omnifuse.tuning import compose_space

    return compose_space("concat", ds)
