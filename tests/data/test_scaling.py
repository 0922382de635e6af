import numpy as np
import pytest

from omnifuse.data.scaling import Standardizer
from omnifuse.errors import DataError


def test_fit_uses_only_present_observed_training_values(tiny):
    scaler = Standardizer.fit(tiny, np.array([0, 1, 3]))
    # clin rows 0,1,3 = [0,1],[2,3],[6,7]
    np.testing.assert_allclose(scaler.mean["clin"], [8 / 3, 11 / 3], rtol=1e-6)
    # vitals observed HR values of samples 0 and 1 (3 absent): 60,61,62,61 ; Temp: 7
    np.testing.assert_allclose(scaler.mean["vitals"], [61.0, 7.0])
    assert scaler.std["vitals"][1] == 1.0  # a constant channel keeps scale 1


def test_absent_rows_do_not_leak_into_statistics(tiny):
    poisoned = tiny.data["omics"].copy()
    poisoned[1] = 1e6  # row of an absent sample holds garbage
    scaler = Standardizer.fit(tiny.replace(data={**tiny.data, "omics": poisoned}))
    clean = Standardizer.fit(tiny)
    np.testing.assert_allclose(scaler.mean["omics"], clean.mean["omics"])


def test_transform_is_new_and_standardises(tiny):
    before = tiny.data["clin"].copy()
    scaled = Standardizer.fit(tiny).transform(tiny)
    np.testing.assert_array_equal(np.isnan(before), np.isnan(tiny.data["clin"]))
    np.testing.assert_allclose(before[~np.isnan(before)], tiny.data["clin"][~np.isnan(before)])
    present = scaled.data["clin"][tiny.availability("clin")]
    np.testing.assert_allclose(np.nanmean(present, axis=0), 0.0, atol=1e-6)
    np.testing.assert_allclose(np.nanstd(present, axis=0), 1.0, atol=1e-6)
    assert np.isnan(scaled.data["clin"][2]).all()  # absent stays absent


def test_state_round_trip_and_width_check(tiny):
    scaler = Standardizer.fit(tiny)
    again = Standardizer.from_dict(scaler.to_dict())
    for name in scaler.mean:
        np.testing.assert_array_equal(scaler.mean[name], again.mean[name])
    narrow = tiny.replace(data={**tiny.data, "clin": tiny.data["clin"][:, :1]}, specs={**tiny.specs})
    with pytest.raises(DataError, match="'clin' has 1 features but the scaler was fitted on 2"):
        again.transform(narrow)


def test_feature_never_observed_in_training_becomes_unobserved(tiny):
    clin = tiny.data["clin"].copy()
    clin[[0, 1, 3], 1] = np.nan  # bmi unobserved in every training sample
    ds = tiny.replace(data={**tiny.data, "clin": clin})
    scaler = Standardizer.fit(ds, np.array([0, 1, 3]))
    scaled = scaler.transform(ds)
    assert np.isnan(scaled.data["clin"][:, 1]).all()  # sample 5's raw bmi (11) is not passed on raw
    assert not np.isnan(scaled.data["clin"][5, 0])
    again = Standardizer.from_dict(scaler.to_dict())
    assert np.isnan(again.mean["clin"][1])
