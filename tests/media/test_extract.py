"""Batched extraction: shapes, determinism, the per-item cache, failures left absent."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from omnifuse.errors import DataError, DataWarning
from omnifuse.media import ImageExtractor, TextExtractor, extract, image_items, text_items
from omnifuse.media.sources import MediaItem
from omnifuse.media.store import EmbeddingStore
from tests.media.conftest import truncate, write_dicom, write_images


class Counter:
    """Wraps an extractor's embed and counts the items it is asked to compute."""

    def __init__(self, monkeypatch, cls):
        self.items = 0
        original = cls.embed

        def embed(extractor, prepared):
            self.items += len(prepared)
            return original(extractor, prepared)

        monkeypatch.setattr(cls, "embed", embed)


@pytest.fixture
def images(tmp_path):
    write_images(tmp_path / "img")
    return tmp_path / "img"


def test_shapes_order_and_determinism(images, tiny_resnet):
    items = image_items(images)
    first = extract(items, ImageExtractor(tiny_resnet), batch_size=3, use_cache=False)
    assert first.sample_ids == [i.sample_id for i in items] and first.vectors.shape == (7, 16)
    assert first.vectors.dtype == np.float32 and np.isfinite(first.vectors).all()
    assert first.n_computed == 7 and first.n_cached == 0 and not first.failed
    again = extract(items, ImageExtractor(tiny_resnet), batch_size=3, use_cache=False)
    assert np.array_equal(first.vectors, again.vectors)
    other_batches = extract(items, ImageExtractor(tiny_resnet), batch_size=2, use_cache=False)
    assert np.allclose(first.vectors, other_batches.vectors, atol=1e-5)


def test_second_run_is_served_from_the_cache_without_loading_the_model(images, tiny_resnet, monkeypatch):
    counter = Counter(monkeypatch, ImageExtractor)
    items = image_items(images)
    first = extract(items, ImageExtractor(tiny_resnet))
    assert counter.items == 7
    extractor = ImageExtractor(tiny_resnet)
    second = extract(items, extractor)
    assert counter.items == 7 and extractor._encoder is None  # no forward pass, weights never loaded
    assert second.n_cached == 7 and second.n_computed == 0
    assert second.sample_ids == first.sample_ids and np.array_equal(second.vectors, first.vectors)


def test_only_new_items_are_computed(images, tiny_resnet, monkeypatch, tmp_path):
    extract(image_items(images), ImageExtractor(tiny_resnet))
    counter = Counter(monkeypatch, ImageExtractor)
    shutil.copy(images / "grey.png", images / "copy_of_grey.png")  # same bytes: a cache hit
    write_dicom(images / "new.dcm", np.arange(64, dtype=np.uint16).reshape(8, 8))
    from PIL import Image

    Image.fromarray(np.eye(20, dtype=np.uint8) * 255).save(images / "new2.png")
    result = extract(image_items(images), ImageExtractor(tiny_resnet))
    assert counter.items == 2 and result.n_cached == 8 and result.n_computed == 2
    grey, copy = result.sample_ids.index("grey"), result.sample_ids.index("copy_of_grey")
    assert np.array_equal(result.vectors[grey], result.vectors[copy])


def test_settings_are_part_of_the_key(images, tiny_resnet, monkeypatch):
    extract(image_items(images), ImageExtractor(tiny_resnet))
    counter = Counter(monkeypatch, ImageExtractor)
    result = extract(image_items(images), ImageExtractor(tiny_resnet, image_size=64))
    assert counter.items == 7 and result.n_cached == 0


def test_cache_off(images, tiny_resnet, monkeypatch):
    monkeypatch.setenv("OMNIFUSE_CACHE", "off")
    counter = Counter(monkeypatch, ImageExtractor)
    for _ in range(2):
        extract(image_items(images), ImageExtractor(tiny_resnet))
    assert counter.items == 14


def test_damaged_cache_shard_is_recomputed(images, tiny_resnet, isolated_cache, monkeypatch):
    extract(image_items(images), ImageExtractor(tiny_resnet))
    for shard in isolated_cache.rglob("shard-*.safetensors"):
        shard.write_bytes(b"garbage")
    counter = Counter(monkeypatch, ImageExtractor)
    result = extract(image_items(images), ImageExtractor(tiny_resnet))
    assert counter.items == 7 and len(result.sample_ids) == 7


def test_bad_items_are_absent_named_and_reported(images, tiny_resnet, tmp_path):
    truncate(images / "grey.png", images / "cut.png")
    write_dicom(images / "nopixels.dcm", None)
    (images / "fake.jpg").write_bytes(b"not a jpeg at all")
    table = tmp_path / "cxr.csv"
    rows = [f"{p.stem},{p}" for p in sorted(images.iterdir())] + ["gone,img/does_not_exist.png", "nopath,"]
    table.write_text("sample_id,path\n" + "\n".join(rows) + "\n")
    with pytest.warns(DataWarning) as caught:
        result = extract(image_items(table), ImageExtractor(tiny_resnet))
    messages = [str(w.message) for w in caught]
    assert sorted(result.sample_ids) == sorted(["deep", "grey", "mono1", "mono2", "photo", "rgb", "rgba"])
    failed = {name: reason for name, reason in result.failed}
    assert len(failed) == 5
    assert "truncated" in failed[str(images / "cut.png")]
    assert "without pixel data" in failed[str(images / "nopixels.dcm")]
    assert "not an image" in failed[str(images / "fake.jpg")]
    assert "cannot read the file" in failed[str(tmp_path / "img" / "does_not_exist.png")]
    assert any(f"{images / 'cut.png'}: " in m and "sample 'cut' is left absent" in m for m in messages)
    assert any(m.startswith("5 of 12 item(s) failed and are absent from the output (first: ") for m in messages)
    assert not (np.abs(result.vectors).sum(axis=1) == 0).any()


def test_every_item_failing_is_a_data_error(tmp_path, tiny_resnet):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "b.png").write_bytes(b"y")
    with pytest.warns(DataWarning), pytest.raises(DataError, match=r"all 2 item\(s\) failed.*a.png: not an image"):
        extract(image_items(tmp_path), ImageExtractor(tiny_resnet))


def test_no_items_is_a_data_error(tiny_resnet):
    with pytest.raises(DataError, match="nothing to extract"):
        extract([], ImageExtractor(tiny_resnet))


def test_texts_empty_report_absent_and_cached(tmp_path, tiny_bert, monkeypatch):
    table = tmp_path / "reports.csv"
    table.write_text('sample_id,text\na,"the lungs are clear"\nb,\nc,"large left pleural effusion"\n')
    counter = Counter(monkeypatch, TextExtractor)
    with pytest.warns(DataWarning) as caught:
        first = extract(text_items(table, "text"), TextExtractor(tiny_bert, max_tokens=16))
    assert any("row 3 (sample 'b'): empty text" in str(w.message) for w in caught)
    assert first.sample_ids == ["a", "c"] and first.vectors.shape == (2, 16) and counter.items == 2
    with pytest.warns(DataWarning):
        second = extract(text_items(table, "text"), TextExtractor(tiny_bert, max_tokens=16))
    assert counter.items == 2 and np.array_equal(first.vectors, second.vectors)
    with pytest.warns(DataWarning):
        extract(text_items(table, "text"), TextExtractor(tiny_bert, max_tokens=16, pooling="cls"))
    assert counter.items == 4  # another pooling is another cache entry


def test_store_round_trip(tmp_path):
    store = EmbeddingStore(tmp_path / "s")
    keys = [bytes([k]) * 32 for k in range(3)]
    store.add(keys, np.arange(6, dtype=np.float32).reshape(3, 2))
    assert set(store.lookup(keys[:2])) == {0, 1}  # pending entries are found before a flush
    store.flush()
    again = EmbeddingStore(tmp_path / "s")
    found = again.lookup([keys[2], b"\0" * 31 + b"\1"])
    assert list(found) == [0] and np.array_equal(found[0], [4.0, 5.0]) and len(again) == 3


def test_items_reading_checks(tiny_resnet):
    extractor = ImageExtractor(tiny_resnet)
    with pytest.warns(DataWarning, match="no image path"), pytest.raises(DataError):
        extract([MediaItem("x", "row 2", "")], extractor)
