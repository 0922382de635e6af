"""Decoding image files of any format, size and mode to (3, 224, 224) arrays in [0, 1]."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from omnifuse.errors import DataError
from omnifuse.media.images import decode_image, is_dicom, load_image, min_max, resize, to_model_input
from tests.media.conftest import truncate, write_images


@pytest.fixture
def files(tmp_path):
    return write_images(tmp_path / "images")


@pytest.mark.parametrize("name", ["grey", "rgb", "rgba", "deep", "photo", "mono1", "mono2"])
def test_every_mode_and_size_becomes_three_channel_224(files, name):
    path = files[name]
    out = load_image(path.read_bytes(), path.name)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 and out.std() > 0


def test_grey_is_replicated_to_three_identical_channels(files):
    out = load_image(files["grey"].read_bytes())
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[1], out[2])


def test_eight_bit_values_are_divided_by_255(tmp_path):
    path = tmp_path / "flat.png"
    Image.fromarray(np.full((10, 10), 51, dtype=np.uint8), "L").save(path)
    assert np.allclose(decode_image(path.read_bytes()), 0.2)


def test_sixteen_bit_png_is_min_max_scaled(tmp_path):
    pixels = np.array([[100, 1100], [2100, 4100]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(pixels).save(path)
    assert Image.open(path).mode.startswith("I")
    assert np.allclose(decode_image(path.read_bytes()), [[0, 0.25], [0.5, 1.0]])


def test_rgba_drops_alpha(tmp_path):
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 0  # red, fully transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = decode_image(path.read_bytes())
    assert out.shape == (4, 4, 3) and np.allclose(out[..., 0], 1) and np.allclose(out[..., 1:], 0)


def test_truncated_png_fails_clearly(files, tmp_path):
    bad = truncate(files["grey"], tmp_path / "cut.png")
    with pytest.raises(DataError, match="truncated|cannot decode"):
        decode_image(bad.read_bytes(), bad.name)


def test_not_an_image_fails_clearly():
    with pytest.raises(DataError, match="not an image"):
        decode_image(b"hello, this is text", "notes.png")


def test_dicom_is_detected_by_magic_or_suffix(files):
    data = files["mono2"].read_bytes()
    assert is_dicom(data) and is_dicom(b"", "x.DCM") and not is_dicom(files["grey"].read_bytes(), "grey.png")


def test_min_max_constant_image_is_zero_and_nan_safe():
    assert np.array_equal(min_max(np.full((3, 3), 7.0)), np.zeros((3, 3)))
    out = min_max(np.array([[np.nan, 0.0], [5.0, 10.0]]))
    assert np.allclose(out, [[0, 0], [0.5, 1]])
    with pytest.raises(DataError):
        min_max(np.full((2, 2), np.nan))


def test_resize_keeps_a_constant_image_constant_and_downscales_smoothly():
    assert np.allclose(resize(np.full((500, 300), 0.3, np.float32), 224), 0.3, atol=1e-6)
    checker = (np.indices((448, 448)).sum(axis=0) % 2).astype(np.float32)
    assert np.allclose(resize(checker, 224), 0.5, atol=0.02)  # antialiased: no aliasing


def test_to_model_input_rejects_strange_shapes():
    with pytest.raises(DataError):
        to_model_input(np.zeros((4, 4, 2), np.float32))
