import numpy as np
import pytest

from omnifuse.data import IrregularSeries, Labels, ModalitySpec, MultimodalDataset, labels_from_values
from omnifuse.errors import DataError


def test_modalities_are_sorted_and_mask_follows(tiny):
    assert tiny.modalities == ("clin", "omics", "vitals")
    assert tiny.mask[:, 1].tolist() == [True, False, True, True, False, True]
    assert tiny.availability("vitals").tolist() == [True, True, True, False, True, False]


def test_sample_reports_absent_as_none(tiny):
    s = tiny[1]
    assert s["sample_id"] == "s1"
    assert s["inputs"]["omics"] is None
    np.testing.assert_array_equal(s["inputs"]["clin"], [2.0, 3.0])
    assert s["mask"].tolist() == [True, False, True]


def test_subset_keeps_everything_aligned(tiny):
    sub = tiny[[4, 0]]
    assert sub.sample_ids.tolist() == ["s4", "s0"]
    assert sub.groups.tolist() == ["p3", "p0"]
    assert sub.mask.tolist() == [[True, False, True], [True, True, True]]
    assert sub.data["vitals"].lengths.tolist() == [2, 3]
    assert sub.y.tolist() == [0, 0]
    assert len(tiny[np.array([True, False] * 3)]) == 3
    assert tiny[1:3].sample_ids.tolist() == ["s1", "s2"]


def test_select_modalities(tiny):
    sub = tiny.select_modalities(["vitals", "clin"])
    assert sub.modalities == ("clin", "vitals")
    np.testing.assert_array_equal(sub.mask, tiny.mask[:, [0, 2]])
    with pytest.raises(DataError, match="unknown modality 'nope'.*clin, omics, vitals"):
        tiny.select_modalities(["nope"])


def test_summary_counts(tiny):
    s = tiny.summary()
    assert s["n_samples"] == 6 and s["n_groups"] == 4
    assert s["modalities"]["omics"] == {"kind": "omics", "n_features": 3, "n_present": 4, "n_absent": 2}
    assert s["modalities"]["vitals"]["max_steps"] == 3
    assert s["labels"] == {"neg": 3, "pos": 3}
    assert s["patterns"] == {"clin+omics+vitals": 1, "clin+vitals": 2, "omics+vitals": 1, "clin+omics": 2}


def test_contract_violations_are_named():
    spec = ModalitySpec("a", "tabular", ("x",), (1,))
    labels = Labels("binary", np.array([0, 1]), ("n", "p"))
    with pytest.raises(DataError, match="duplicate sample id 'x'"):
        MultimodalDataset([spec], {"a": np.zeros((2, 1))}, np.ones((2, 1), bool), labels, ["x", "x"])
    with pytest.raises(DataError, match="modality 'a' has 3 rows for 2 samples"):
        MultimodalDataset([spec], {"a": np.zeros((3, 1))}, np.ones((2, 1), bool), labels, ["x", "y"])
    with pytest.raises(DataError, match="unknown kind 'movie'"):
        ModalitySpec("v", "movie")


def test_labels_inference():
    assert labels_from_values(["0", "1", "1"]).task == "binary"
    lab = labels_from_values(["10", "2", "2", "1"])
    assert lab.task == "multiclass" and lab.class_names == ("1", "2", "10")
    ml = labels_from_values(["a|b", "b", "c|a"])
    assert ml.task == "multilabel" and ml.y.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    with pytest.raises(DataError, match="single class 'x'"):
        labels_from_values(["x", "x"])
    with pytest.raises(DataError, match="row 2 has an empty label"):
        labels_from_values(["x", ""])


def test_series_observed_and_step_mask(tiny):
    vit = tiny.data["vitals"]
    assert isinstance(vit, IrregularSeries)
    assert vit.step_mask[1].tolist() == [True, False, False]
    assert vit.observed[0].tolist() == [[True, False], [True, True], [True, False]]
