"""DICOM: rescale slope/intercept, VOI windows, MONOCHROME1 inversion, missing pixel data."""

from __future__ import annotations

import numpy as np
import pytest

from omnifuse.errors import DataError
from omnifuse.media.dicom import apply_window, decode_dicom
from tests.media.conftest import gradient, write_dicom


def decode(path):
    return decode_dicom(path.read_bytes())


def test_monochrome1_is_inverted_on_a_gradient(tmp_path):
    ramp = gradient()
    mono1 = decode(write_dicom(tmp_path / "m1.dcm", ramp, "MONOCHROME1"))
    mono2 = decode(write_dicom(tmp_path / "m2.dcm", ramp, "MONOCHROME2"))
    # MONOCHROME2: the high (right) end is bright; MONOCHROME1: the high end is dark
    assert mono2[0, 0] == 0.0 and mono2[0, -1] == 1.0
    assert mono1[0, 0] == 1.0 and mono1[0, -1] == 0.0
    assert np.all(np.diff(mono1[0]) < 0) and np.allclose(mono1, 1.0 - mono2)


def test_monochrome1_is_inverted_after_the_window(tmp_path):
    ramp = gradient()
    m1 = decode(write_dicom(tmp_path / "a.dcm", ramp, "MONOCHROME1", WindowCenter=1000, WindowWidth=1001))
    m2 = decode(write_dicom(tmp_path / "b.dcm", ramp, "MONOCHROME2", WindowCenter=1000, WindowWidth=1001))
    assert np.allclose(m1, 1.0 - m2) and m2.min() == 0.0 and m2.max() == 1.0


def test_rescale_then_linear_window_numerics(tmp_path):
    # stored p -> x = 2 p - 1024; window c=1000, w=501: y = clip((x - 999.5) / 500 + 0.5, 0, 1)
    stored = np.array([[512, 900, 1012, 1262]], dtype=np.uint16)
    path = write_dicom(
        tmp_path / "w.dcm", stored, RescaleSlope=2, RescaleIntercept=-1024, WindowCenter=1000, WindowWidth=501
    )
    assert np.allclose(decode(path), [[0.0, 0.053, 0.501, 1.0]], atol=1e-6)


def test_first_of_several_windows_is_used(tmp_path):
    stored = np.array([[512, 900, 1012, 1262]], dtype=np.uint16)
    path = write_dicom(tmp_path / "w.dcm", stored, RescaleSlope=2, RescaleIntercept=-1024,
                       WindowCenter=[1000, 40], WindowWidth=[501, 400])  # fmt: skip
    assert np.allclose(decode(path), [[0.0, 0.053, 0.501, 1.0]], atol=1e-6)


def test_signed_ct_values_in_hounsfield_units(tmp_path):
    hu = np.array([[-1000, 0, 400]], dtype=np.int16)
    path = write_dicom(tmp_path / "ct.dcm", hu, bits_stored=16, RescaleSlope=1, RescaleIntercept=0,
                       WindowCenter=40, WindowWidth=400)  # fmt: skip
    assert np.allclose(decode(path), [[0.0, (0 - 39.5) / 399 + 0.5, 1.0]], atol=1e-6)


def test_without_window_min_max_after_rescale(tmp_path):
    path = write_dicom(
        tmp_path / "m.dcm", np.array([[10, 20, 30]], dtype=np.uint16), RescaleSlope=-1, RescaleIntercept=0
    )
    assert np.allclose(decode(path), [[1.0, 0.5, 0.0]])  # the slope's sign is applied


def test_invalid_window_falls_back_to_min_max(tmp_path):
    path = write_dicom(tmp_path / "m.dcm", np.array([[0, 50, 100]], dtype=np.uint16), WindowCenter=50, WindowWidth=0)
    assert np.allclose(decode(path), [[0.0, 0.5, 1.0]])


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("LINEAR_EXACT", [0.0, 0.5, 0.75, 1.0]),
        ("SIGMOID", [1 / (1 + np.exp(4)), 0.5, 1 / (1 + np.exp(-1)), 1 / (1 + np.exp(-40))]),
    ],
)
def test_voi_functions(tmp_path, function, expected):
    stored = np.array([[0, 100, 125, 1100]], dtype=np.uint16)
    path = write_dicom(tmp_path / "f.dcm", stored, WindowCenter=100, WindowWidth=100, VOILUTFunction=function)
    assert np.allclose(decode(path), [expected], atol=1e-6)


def test_voi_lut_sequence_without_window(tmp_path):
    from pydicom.dataset import Dataset

    lut = Dataset()
    lut.LUTDescriptor = [4, 0, 16]
    lut.LUTData = np.array([0, 100, 300, 1000], dtype=np.uint16).tobytes()
    path = write_dicom(tmp_path / "lut.dcm", np.array([[0, 1, 2, 3]], dtype=np.uint16), VOILUTSequence=[lut])
    assert np.allclose(decode(path), [[0.0, 0.1, 0.3, 1.0]], atol=1e-6)


def test_apply_window_linear_edges():
    c, w = 100.0, 21.0
    low, high = c - 0.5 - (w - 1) / 2, c - 0.5 + (w - 1) / 2
    assert np.allclose(apply_window(np.array([low - 1, low, high, high + 1]), c, w), [0, 0, 1, 1])
    assert np.allclose(apply_window(np.array([99.0, 99.5, 100.0]), 100.0, 1.0), [0, 0, 1])


def test_without_pixel_data_fails_clearly(tmp_path):
    with pytest.raises(DataError, match="without pixel data"):
        decode(write_dicom(tmp_path / "empty.dcm", None))


def test_garbage_with_dcm_suffix_fails_clearly(tmp_path):
    path = tmp_path / "bad.dcm"
    path.write_bytes(b"\x00" * 10)
    with pytest.raises(DataError):
        decode(path)


def test_multiframe_uses_the_first_frame(tmp_path):
    frames = np.stack([gradient(8, 8), gradient(8, 8)[:, ::-1]])
    out = decode(write_dicom(tmp_path / "mf.dcm", frames))
    assert out.shape == (8, 8) and out[0, 0] == 0.0 and out[0, -1] == 1.0
