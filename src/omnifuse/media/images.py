"""Image files to backbone-ready arrays: decode, scale to [0, 1], resize, three channels.

Every image, whatever its format, size or mode, becomes a float32 array of shape
``(3, size, size)`` with values in [0, 1]. The backbone's own normalisation (its processor's
mean and std) is applied later, by the encoder.

* PNG, JPEG, TIFF, BMP (Pillow): 8-bit modes are divided by 255; high bit-depth grey modes
  (``I;16``, ``I``, ``F``) are min-max scaled over the image, as a DICOM without a window is;
  alpha channels are dropped; palette, CMYK and other modes become RGB; JPEG EXIF rotation is
  applied.
* DICOM (pydicom): see :mod:`omnifuse.media.dicom` (rescale, VOI window, MONOCHROME1).

The resize is a plain, antialiased bilinear resize to ``size x size`` (Wu et al. 2025 section
4.2.1: every radiograph is resized to 224 x 224): no crop, so no border of the film is lost,
and the aspect ratio is not kept.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from omnifuse.errors import DataError
from omnifuse.media.dicom import decode_dicom, min_max

#: File suffixes read as images when a directory is scanned.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".dcm", ".dicom")
DICOM_SUFFIXES = (".dcm", ".dicom")
DEFAULT_IMAGE_SIZE = 224

_HIGH_DEPTH_MODES = ("I", "F")


def is_dicom(data: bytes, name: str = "") -> bool:
    """True for DICOM content: the ``DICM`` magic at byte 128, or a ``.dcm``/``.dicom`` name."""
    return data[128:132] == b"DICM" or Path(name).suffix.lower() in DICOM_SUFFIXES


def decode_image(data: bytes, name: str = "") -> np.ndarray:
    """Decode image bytes to float32 ``(H, W)`` (grey) or ``(H, W, 3)`` (colour) in [0, 1].

    Raises:
        DataError: the bytes are not a readable image (unknown format, truncated file, DICOM
            without pixel data, ...); the message says why, without the file name.
    """
    if is_dicom(data, name):
        return decode_dicom(data)
    return _decode_pillow(data)


def _decode_pillow(data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # decodes now: a truncated file fails here, not later
            img = ImageOps.exif_transpose(img)
            return _to_unit_array(img)
    except UnidentifiedImageError:
        raise DataError("not an image Pillow can read (and no DICOM header)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"cannot decode the image ({exc})") from exc


def _to_unit_array(img: Any) -> np.ndarray:
    mode = img.mode
    if mode.startswith("I;16") or mode in _HIGH_DEPTH_MODES:
        return min_max(np.asarray(img, dtype=np.float32))
    if mode in ("L", "LA", "1"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    return np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0


def resize(values: np.ndarray, size: int) -> np.ndarray:
    """Antialiased bilinear resize of ``(H, W)`` or ``(H, W, C)`` float data to ``size x size``."""
    if values.ndim == 2:
        values = values[..., None]
    channels = []
    for c in range(values.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(values[..., c], dtype=np.float32), mode="F")
        channels.append(np.asarray(plane.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32))
    return np.stack(channels, axis=-1)


def to_model_input(values: np.ndarray, size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """``(H, W)`` or ``(H, W, 3)`` [0, 1] data to ``(3, size, size)`` float32 (grey replicated)."""
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[2] not in (1, 3)):
        raise DataError(f"unsupported image array of shape {values.shape}")
    if min(values.shape[:2]) < 1:
        raise DataError(f"empty image of shape {values.shape}")
    out = resize(values, size)
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.clip(out, 0.0, 1.0).transpose(2, 0, 1).copy()


def load_image(data: bytes, name: str = "", size: int = DEFAULT_IMAGE_SIZE) -> np.ndarray:
    """Image bytes (any supported format) to a ``(3, size, size)`` float32 array in [0, 1]."""
    return to_model_input(decode_image(data, name), size)
