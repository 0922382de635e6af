"""The conditions of a robustness sweep: which exist for which modalities, and their paths."""

import pytest

from omnifuse.data.simulate import default_cohort
from omnifuse.errors import ConfigError
from omnifuse.evaluation.conditions import CLEAN, MISSING_RATES, NOISE_LEVELS, level_key, plan_conditions


def test_plan_covers_every_modality_pattern_and_applicable_noise(tiny):
    conditions = plan_conditions(tiny)
    paths = [c.path for c in conditions]
    assert paths[0] == CLEAN and len(set(paths)) == len(paths)
    for target in [*tiny.modalities, "any"]:
        assert [p[2] for p in paths if p[:2] == ("missing", target)] == [level_key(r) for r in MISSING_RATES if r > 0]
    patterns = {p[1] for p in paths if p[0] == "patterns"}
    assert len(patterns) == 2 ** len(tiny.modalities) - 1 and "clin+omics+vitals" in patterns
    kinds = {(p[1], p[2]) for p in paths if p[0] == "noise"}
    # segment / flatline need a time axis: only the irregular series gets them
    assert ("vitals", "segment") in kinds and ("vitals", "flatline") in kinds
    assert ("clin", "segment") not in kinds and ("clin", "gaussian") in kinds and ("omics", "dropout") in kinds
    assert all(not c.random for c in conditions if c.path[0] == "patterns" or c.path == CLEAN)


def test_patterns_are_bounded_for_many_modalities():
    ds, _ = default_cohort(5, seed=0, n_samples=80)
    few = [c for c in plan_conditions(ds, patterns=True, max_patterns=10) if c.path[0] == "patterns"]
    assert {len(c.path[1].split("+")) for c in few} == {1, 4, 5}
    assert len([c for c in plan_conditions(ds) if c.path[0] == "patterns"]) == 31


def test_invalid_levels_and_kinds_are_refused(tiny):
    with pytest.raises(ConfigError, match="valid|must be"):
        plan_conditions(tiny, missing_rates=[1.5])
    with pytest.raises(ConfigError, match="gaussian, dropout, segment, flatline"):
        plan_conditions(tiny, noise_levels={"blur": (0.1,)})
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        plan_conditions(tiny, noise_levels={"dropout": (2.0,)})


def test_level_keys_are_stable():
    assert level_key(0.5) == "0.5" and level_key(1) == "1.0" and level_key(0.1 * 3) == "0.3"
    assert set(NOISE_LEVELS) == {"gaussian", "dropout", "segment", "flatline"}
