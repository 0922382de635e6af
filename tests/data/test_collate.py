import numpy as np
import torch
from torch.utils.data import DataLoader

from omnifuse.data import BatchCollator, SeriesBatch, collate, make_batch


def test_batch_format(tiny):
    batch = make_batch(tiny, [0, 1, 2])
    assert set(batch) == {"inputs", "mask", "y", "index"}
    assert list(batch["inputs"]) == ["clin", "omics", "vitals"]
    assert batch["mask"].dtype == torch.bool and batch["mask"].shape == (3, 3)
    assert batch["y"].tolist() == [0, 1, 0]


def test_absent_rows_are_placeholders_flagged_in_mask(tiny):
    batch = make_batch(tiny, [1, 2, 4])
    omics = batch["inputs"]["omics"]
    assert not torch.isnan(omics).any()
    assert omics[0].abs().sum() == 0 and not batch["mask"][0, 1]
    clin = batch["inputs"]["clin"]
    assert clin[2].tolist() == [8.0, 0.0]  # NaN inside a present row -> fill value


def test_series_batch_carries_observation_mask(tiny):
    vit = make_batch(tiny, [0, 3])["inputs"]["vitals"]
    assert isinstance(vit, SeriesBatch)
    assert vit.observed[0].tolist() == [[True, False], [True, True], [True, False]]
    assert vit.values[0, 1].tolist() == [61.0, 7.0]
    assert vit.times[0].tolist() == [0.0, 1.5, 3.0]
    assert not vit.step_mask[1].any() and not vit.observed[1].any()


def test_collate_equals_fast_path_and_works_in_a_dataloader(tiny):
    samples = [tiny[i] for i in (5, 2)]
    a, b = collate(samples, tiny), make_batch(tiny, [5, 2])
    for name in ("clin", "omics"):
        assert torch.equal(a["inputs"][name], b["inputs"][name])
    loader = DataLoader(range(len(tiny)), batch_size=4, collate_fn=BatchCollator(tiny))
    batches = list(loader)
    assert [len(b["y"]) for b in batches] == [4, 2]
    assert torch.cat([b["index"] for b in batches]).tolist() == list(range(6))


def test_batch_does_not_modify_dataset(tiny):
    before = tiny.data["clin"].copy()
    make_batch(tiny, np.arange(6))
    np.testing.assert_array_equal(np.isnan(before), np.isnan(tiny.data["clin"]))
