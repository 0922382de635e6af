import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnifuse.data import Labels, ModalitySpec, MultimodalDataset
from omnifuse.data.splits import holdout_indices, kfold_indices, train_val_test_indices
from omnifuse.errors import ConfigError, DataError


def cohort(groups: list[int], labels: list[int]) -> MultimodalDataset:
    n = len(groups)
    n_classes = max(labels) + 1
    return MultimodalDataset(
        [ModalitySpec("x", "tabular", ("f",), (1,))],
        {"x": np.zeros((n, 1), np.float32)},
        np.ones((n, 1), bool),
        Labels(
            "binary" if n_classes == 2 else "multiclass",
            np.array(labels),
            tuple(f"c{k}" for k in range(max(2, n_classes))),
        ),
        [f"s{i}" for i in range(n)],
        groups=[f"g{g}" for g in groups],
    )


cohorts = (
    st.integers(min_value=12, max_value=80)
    .flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, n // 2), min_size=n, max_size=n),
            st.lists(st.integers(0, 2), min_size=n, max_size=n),
        )
    )
    .filter(lambda gl: len(set(gl[0])) >= 5 and len(set(gl[1])) >= 2 and max(gl[1]) >= 1)
)


@settings(max_examples=40, deadline=None)
@given(cohorts, st.integers(2, 5), st.integers(0, 1000))
def test_kfold_groups_never_cross_and_folds_partition(gl, k, seed):
    groups, labels = gl
    ds = cohort(groups, labels)
    folds = kfold_indices(ds, k, seed=seed)
    assert len(folds) == k
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(len(ds)))  # each sample tested exactly once
    for train, test in folds:
        assert not set(ds.groups[train]) & set(ds.groups[test])
        assert len(np.intersect1d(train, test)) == 0
        assert len(train) + len(test) == len(ds)


@settings(max_examples=40, deadline=None)
@given(cohorts, st.integers(0, 1000))
def test_train_val_test_are_disjoint_by_group(gl, seed):
    groups, labels = gl
    ds = cohort(groups, labels)
    train, val, test = train_val_test_indices(ds, 0.2, 0.2, seed=seed)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(len(ds)))
    sets = [set(ds.groups[i]) for i in (train, val, test)]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    assert len(train) and len(val) and len(test)


def test_stratification_keeps_class_balance():
    labels = [0] * 80 + [1] * 20
    ds = cohort(list(range(100)), labels)
    for _, test in kfold_indices(ds, 5, seed=1):
        assert ds.y[test].sum() == 4  # 20 positives over 5 folds


def test_holdout_fraction_and_determinism():
    ds = cohort(list(range(100)), [0, 1] * 50)
    kept, held = holdout_indices(ds, np.arange(100), 0.2, seed=3)
    assert len(held) == 20
    again = holdout_indices(ds, np.arange(100), 0.2, seed=3)[1]
    np.testing.assert_array_equal(held, again)


def test_bad_split_requests():
    ds = cohort([0, 0, 1, 1], [0, 1, 0, 1])
    with pytest.raises(DataError, match="cannot make 5 folds from 2 patient group"):
        kfold_indices(ds, 5)
    with pytest.raises(ConfigError, match="at least 2"):
        kfold_indices(ds, 1)
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\)"):
        holdout_indices(ds, np.arange(4), 1.5)


def test_named_splits(tiny):
    ds = tiny.replace(splits=["a", "a", "b", "b", "c", "c"])
    assert ds.split_indices("a,c").tolist() == [0, 1, 4, 5]
    with pytest.raises(DataError, match="unknown split 'z' .*a, b, c"):
        ds.split_indices(["z"])
