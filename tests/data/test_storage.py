import numpy as np
import pytest

from omnifuse.data.cache import cache_root, cached, content_key
from omnifuse.data.storage import load_dataset_npz, save_dataset
from omnifuse.errors import CacheError


def test_save_load_round_trip(tmp_path, tiny):
    save_dataset(tiny, tmp_path)
    back = load_dataset_npz(tmp_path)
    assert back.modalities == tiny.modalities
    np.testing.assert_array_equal(back.mask, tiny.mask)
    np.testing.assert_array_equal(back.data["vitals"].lengths, tiny.data["vitals"].lengths)
    np.testing.assert_array_equal(back.groups, tiny.groups)
    assert back.specs["vitals"].time_unit == "hours"


def test_corrupt_store_is_a_cache_error(tmp_path, tiny):
    save_dataset(tiny, tmp_path)
    (tmp_path / "arrays.npz").write_bytes(b"garbage")
    with pytest.raises(CacheError, match="unreadable stored dataset"):
        load_dataset_npz(tmp_path)


def test_cached_builds_once_and_rebuilds_a_broken_entry(tmp_path, tiny, isolated_cache):
    calls = []

    def build():
        calls.append(1)
        return tiny

    cached("t", "k1", build)
    again = cached("t", "k1", build)
    assert len(calls) == 1 and again.sample_ids.tolist() == tiny.sample_ids.tolist()
    (isolated_cache / "t" / "k1" / "arrays.npz").write_bytes(b"broken")
    cached("t", "k1", build)
    assert len(calls) == 2


def test_cache_location_rules(monkeypatch, tmp_path):
    monkeypatch.setenv("OMNIFUSE_CACHE", "off")
    assert cache_root() is None
    monkeypatch.delenv("OMNIFUSE_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "omnifuse"


def test_content_key_depends_on_bytes(tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("x")
    k1 = content_key([f], "v1")
    f.write_text("y")
    assert content_key([f], "v1") != k1
    assert content_key([f], "v2") != content_key([f], "v1")
