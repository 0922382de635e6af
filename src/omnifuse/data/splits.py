"""Patient-grouped, label-stratified splits. A group never appears on both sides.

Stratification follows :meth:`Labels.stratification_key`: the class (label powerset for
multilabel tasks, the event indicator for survival, so every fold gets its share of events).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

from omnifuse.data.dataset import MultimodalDataset
from omnifuse.errors import ConfigError, DataError

Split = tuple[np.ndarray, np.ndarray]


def kfold_indices(
    ds: MultimodalDataset, n_splits: int = 5, seed: int = 0, index: np.ndarray | None = None
) -> list[Split]:
    """Stratified, grouped k-fold over ``index`` (default: all samples).

    Returns ``n_splits`` pairs ``(train, test)`` of dataset positions; every sample is in
    exactly one test fold and no group is split across train and test.
    """
    idx = np.arange(len(ds)) if index is None else np.asarray(index, dtype=np.int64)
    if n_splits < 2:
        raise ConfigError(f"folds must be at least 2, got {n_splits}")
    n_groups = len(np.unique(ds.groups[idx]))
    if n_groups < n_splits:
        raise DataError(f"cannot make {n_splits} folds from {n_groups} patient group(s)")
    return list(_stratified_group_folds(ds, idx, n_splits, seed))


def holdout_indices(ds: MultimodalDataset, index: np.ndarray, fraction: float, seed: int = 0) -> Split:
    """Split ``index`` into (kept, held out) with about ``fraction`` held out, grouped and stratified.

    Used to carve a validation set out of a training set.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"a held-out fraction must be in (0, 1), got {fraction}")
    idx = np.asarray(index, dtype=np.int64)
    n_splits = max(2, int(round(1.0 / fraction)))
    n_groups = len(np.unique(ds.groups[idx]))
    if n_groups < 2:
        raise DataError(f"cannot hold out a share of {n_groups} patient group(s)")
    kept, held = next(_stratified_group_folds(ds, idx, min(n_splits, n_groups), seed))
    return kept, held


def train_val_test_indices(
    ds: MultimodalDataset, val_fraction: float = 0.15, test_fraction: float = 0.15, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three disjoint, grouped and stratified index sets (train, validation, test)."""
    rest, test = holdout_indices(ds, np.arange(len(ds)), test_fraction, seed)
    train, val = holdout_indices(ds, rest, val_fraction / (1.0 - test_fraction), seed + 1)
    return train, val, test


def _stratified_group_folds(ds: MultimodalDataset, idx: np.ndarray, n_splits: int, seed: int) -> Iterator[Split]:
    """Grouped folds, stratified when some class (survival: events or censored samples) has at
    least ``n_splits`` members.

    When no class is that large, stratification is impossible and plain shuffled group
    folds are used.
    """
    key = ds.labels.stratification_key()[idx]
    if np.bincount(key).max() < n_splits:
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        for train, test in splitter.split(idx, key, groups=ds.groups[idx]):
            yield idx[train], idx[test]
        return
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        # sklearn warns when a class has fewer members than folds; the folds stay valid.
        warnings.simplefilter("ignore", UserWarning)
        for train, test in splitter.split(idx, key, groups=ds.groups[idx]):
            yield idx[train], idx[test]
