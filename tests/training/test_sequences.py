"""Sequence batches for sequence-to-sequence models: windows of consecutive epochs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from omnifuse.data import ModalitySpec, MultimodalDataset
from omnifuse.data.labels import labels_from_values
from omnifuse.errors import DataError
from omnifuse.models import registry
from omnifuse.models.output import ModelOutput
from omnifuse.training.fit import SplitContext, fit
from omnifuse.training.sequences import SequenceBatchSampler, recording_positions, runs, windows

L = 5


def epoch_dataset(lengths: dict[str, int], seed: int = 0) -> MultimodalDataset:
    """Recordings of consecutive epochs; feature 0 is a random +-1, the label is the previous
    epoch's feature 0 (learnable only with context), stored in shuffled order."""
    ids, groups, values, labels = [], [], [], []
    rng = np.random.default_rng(seed)
    for rec, n in lengths.items():
        signs = rng.choice([-1.0, 1.0], size=n)
        for k in range(n):
            ids.append(f"{rec}#{k:05d}")
            groups.append(rec)
            values.append([signs[k], rng.normal()])
            labels.append("up" if signs[max(k - 1, 0)] > 0 else "down")
    order = rng.permutation(len(ids))  # storage order must not matter
    return MultimodalDataset(
        specs=[ModalitySpec("sig", "tabular", ("sign", "noise"), (2,))],
        data={"sig": np.asarray(values, dtype=np.float32)[order]},
        mask=np.ones((len(ids), 1), bool),
        labels=labels_from_values(np.asarray(labels)[order]),
        sample_ids=np.asarray(ids)[order],
        groups=np.asarray(groups)[order],
    )


def test_runs_split_recordings_and_gaps():
    ids = ["a#00000", "a#00001", "a#00003", "b#00000", "a#00002", "a#00004"]
    got = [r.tolist() for r in runs(ids, np.arange(len(ids)))]
    assert got == [[0, 1, 4, 2, 5], [3]]
    got = [r.tolist() for r in runs(ids, np.array([0, 1, 2, 3, 5]))]  # a#2 missing: a gap
    assert got == [[0, 1], [2, 5], [3]]
    with pytest.raises(DataError, match="needs epoch ids"):
        recording_positions(["x"])


def test_windows_cover_every_epoch():
    run = np.arange(12)
    for offset in range(L):
        wins = windows(run, L, offset)
        assert all(len(w) == L and np.all(np.diff(w) == 1) for w in wins)
        assert set(np.concatenate(wins).tolist()) == set(range(12))
    assert windows(np.arange(3), L)[0].tolist() == [0, 1, 2, 2, 2]  # short run: padded


def test_sampler_batches_are_blocks_of_consecutive_epochs_and_reproducible():
    ids = [f"r{r}#{k:05d}" for r in range(3) for k in range(17)]
    sampler = SequenceBatchSampler(ids, np.arange(len(ids)), L, batch_size=12, shuffle=True, seed=4)
    sampler.set_epoch(2)
    batches = list(sampler)
    recs, pos = recording_positions(ids)
    for batch in batches:
        assert len(batch) % L == 0 and len(batch) <= 12
        for block in np.asarray(batch).reshape(-1, L):
            assert len(set(recs[block])) == 1 and np.all(np.diff(pos[block]) == 1)
    assert set(np.concatenate(batches).tolist()) == set(range(len(ids)))
    again = SequenceBatchSampler(ids, np.arange(len(ids)), L, batch_size=12, shuffle=True, seed=4)
    again.set_epoch(2)
    assert list(again) == batches
    again.set_epoch(3)
    assert list(again) != batches


def test_lightning_reaches_the_epoch_of_a_sequence_loader():
    from lightning.fabric.utilities.data import _set_sampler_epoch

    from omnifuse.training.batches import TensorStore

    ds = epoch_dataset({"r0": 30, "r1": 25})
    loader = TensorStore(ds).sequence_loader(np.arange(len(ds)), L, batch_size=10, shuffle=True, seed=1)
    first = [b["index"].tolist() for b in loader]
    _set_sampler_epoch(loader, 1)
    assert [b["index"].tolist() for b in loader] != first


class PreviousEpochModel(nn.Module):
    """Predicts from the previous epoch's features (needs the block structure)."""

    sequence_length = L
    modalities = ("sig",)

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Linear(2, 2)

    def forward(self, inputs, mask):  # noqa: ANN001, ANN201
        x = inputs["sig"]
        assert x.shape[0] % L == 0
        blocks = x.view(-1, L, x.shape[-1])
        previous = torch.cat([blocks[:, :1], blocks[:, :-1]], dim=1).reshape(x.shape)
        return ModelOutput(self.head(previous), embeddings={"sig": x})


@pytest.fixture
def previous_epoch_model():
    entry = registry.ModelEntry(
        name="previous-epoch",
        kind="model",
        paper="test",
        description="test",
        build=lambda ds, cfg: PreviousEpochModel(),
        defaults={},
    )
    with registry.MODELS.isolated():
        registry.register(entry)
        yield entry.name


def test_fit_and_predict_a_sequence_model(previous_epoch_model):
    ds = epoch_dataset({"r0": 60, "r1": 45, "r2": 50, "r3": 40})
    recs = np.array([i.split("#")[0] for i in ds.sample_ids])
    train, val, test = (np.flatnonzero(np.isin(recs, g)) for g in (["r0", "r1"], ["r2"], ["r3"]))
    fitted = fit(previous_epoch_model, SplitContext(ds, train, val), {"max_epochs": 40, "lr": 0.05, "batch_size": 20})
    probs = fitted.predict_proba(test)
    accuracy = float((probs.argmax(axis=1) == ds.y[test]).mean())
    assert accuracy > 0.85  # only block starts (no previous epoch in the window) can be wrong
    # rows come back in the order asked for, whatever the storage order
    assert np.array_equal(fitted.predict_proba(test[::-1]), probs[::-1])
    details = fitted.predict_details(test[:7])
    assert details.probs.shape == (7, 2) and np.allclose(details.probs, probs[:7], atol=1e-6)


def test_every_epoch_has_the_batch_count_lightning_reads():
    ids = [f"r{r}#{k:05d}" for r in range(20) for k in range(100)]
    sampler = SequenceBatchSampler(ids, np.arange(len(ids)), 20, batch_size=40, shuffle=True, seed=0)
    expected = len(sampler)
    for epoch in range(15):
        sampler.set_epoch(epoch)
        assert len(list(sampler)) == expected
    assert len(list(SequenceBatchSampler(ids, np.arange(len(ids)), 20, batch_size=40))) == len(
        SequenceBatchSampler(ids, np.arange(len(ids)), 20, batch_size=40)
    )


def test_a_sequence_model_ensemble_reports_its_spread(previous_epoch_model):
    ds = epoch_dataset({"r0": 60, "r1": 45, "r2": 50, "r3": 40})
    recs = np.array([i.split("#")[0] for i in ds.sample_ids])
    train, val, test = (np.flatnonzero(np.isin(recs, g)) for g in (["r0", "r1"], ["r2"], ["r3"]))
    fitted = fit(
        previous_epoch_model,
        SplitContext(ds, train, val),
        {"max_epochs": 3, "lr": 0.05, "batch_size": 20, "ensemble": 2},
    )
    details = fitted.predict_details(test[:7])
    assert details.spread is not None and details.spread.shape == (7, 2) and (details.spread >= 0).all()
