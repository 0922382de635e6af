"""DICOM pixel data to display intensities in [0, 1] (pydicom).

The steps of the DICOM grey-scale pipeline (PS3.3 C.11), in order:

1. **Modality LUT**: ``RescaleSlope`` / ``RescaleIntercept`` (or a Modality LUT Sequence),
   giving stored values in physical units (e.g. Hounsfield units for CT);
2. **VOI**: the first ``WindowCenter`` / ``WindowWidth`` pair with its ``VOILUTFunction``
   (LINEAR, LINEAR_EXACT or SIGMOID) when present and valid, else a VOI LUT Sequence, else a
   min-max scaling over the image;
3. **MONOCHROME1** images (where a high value is dark) are inverted, so bone is bright in
   every image the backbone sees.

Colour DICOMs (``SamplesPerPixel`` 3, converted to RGB by pydicom) are divided by the largest
stored value. Of a multi-frame object, the first frame is used.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from omnifuse.errors import DataError

_PIXEL_ELEMENTS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


def decode_dicom(data: bytes) -> np.ndarray:
    """DICOM bytes to float32 ``(H, W)`` (grey) or ``(H, W, 3)`` (colour) in [0, 1].

    Raises:
        DataError: not a DICOM file, no pixel data, or pixel data pydicom cannot decode (a
            compressed transfer syntax without its decoder plugin).
    """
    # deferred: pydicom (it also loads requests and urllib3) is needed only to decode a DICOM file
    import pydicom
    from pydicom.errors import InvalidDicomError  # deferred: as pydicom above

    try:
        ds = pydicom.dcmread(io.BytesIO(data), force=True)
    except (InvalidDicomError, OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise DataError(f"not a readable DICOM file ({exc})") from exc
    if not any(element in ds for element in _PIXEL_ELEMENTS):
        raise DataError("DICOM without pixel data (no PixelData element)")
    try:
        pixels = np.asarray(ds.pixel_array)
    except Exception as exc:  # pydicom raises many types (missing decoder plugins, bad lengths)
        raise DataError(f"cannot decode the DICOM pixel data ({str(exc).splitlines()[0]})") from exc
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        pixels = pixels[0]
    if samples == 3:
        bits = int(ds.get("BitsStored", 8) or 8)
        return np.clip(pixels.astype(np.float32) / float(2**bits - 1), 0.0, 1.0)
    if pixels.ndim != 2:
        raise DataError(f"unsupported DICOM pixel array of shape {pixels.shape}")
    return grey_to_unit(pixels, ds)


def grey_to_unit(pixels: np.ndarray, ds: Any) -> np.ndarray:
    """Stored grey values of dataset ``ds`` to display intensities in [0, 1] (steps 1-3)."""
    from pydicom.pixels import apply_modality_lut, apply_voi_lut  # deferred: as pydicom in decode_dicom

    values = np.asarray(apply_modality_lut(pixels, ds), dtype=np.float64)
    window = voi_window(ds)
    if window is not None:
        center, width, function = window
        out = apply_window(values, center, width, function)
    elif "VOILUTSequence" in ds:
        indices = np.rint(values).astype(np.int64)  # a LUT is indexed by integer values
        out = min_max(np.asarray(apply_voi_lut(indices, ds, prefer_lut=True), dtype=np.float64))
    else:
        out = min_max(values)
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 1.0 - out
    return out.astype(np.float32)


def voi_window(ds: Any) -> tuple[float, float, str] | None:
    """The first valid ``(center, width, function)`` window of ``ds``, or None."""
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is None or width is None:
        return None
    try:
        c = float(center[0] if _is_multi(center) else center)
        w = float(width[0] if _is_multi(width) else width)
    except (TypeError, ValueError, IndexError):
        return None
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").upper()
    if function not in VOI_FUNCTIONS:
        function = "LINEAR"  # the standard's default for an unknown function
    if not np.isfinite(c) or not np.isfinite(w) or w <= 0 or (function == "LINEAR" and w < 1):
        return None
    return c, w, function


def _is_multi(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue"


def apply_window(values: np.ndarray, center: float, width: float, function: str = "LINEAR") -> np.ndarray:
    """A DICOM VOI window (PS3.3 C.11.2.1.2) with output range [0, 1].

    LINEAR: 0 below ``c - 0.5 - (w - 1) / 2``, 1 above ``c - 0.5 + (w - 1) / 2``, and
    ``(x - (c - 0.5)) / (w - 1) + 0.5`` between. LINEAR_EXACT: ``(x - c) / w + 0.5``,
    clipped. SIGMOID: ``1 / (1 + exp(-4 (x - c) / w))``.
    """
    x = np.asarray(values, dtype=np.float64)
    if function == "LINEAR_EXACT":
        return np.clip((x - center) / width + 0.5, 0.0, 1.0)
    if function == "SIGMOID":
        return 1.0 / (1.0 + np.exp(-4.0 * (x - center) / width))
    if function != "LINEAR":
        raise DataError(f"unknown VOILUTFunction '{function}' (valid: LINEAR, LINEAR_EXACT, SIGMOID)")
    low = center - 0.5 - (width - 1) / 2
    if width == 1:
        return (x > low).astype(np.float64)
    return np.clip((x - (center - 0.5)) / (width - 1) + 0.5, 0.0, 1.0)


def min_max(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] by the finite minimum and maximum (a constant image becomes 0).

    A DICOM without a VOI window is scaled this way, and so are high bit-depth images read
    by Pillow (:mod:`omnifuse.media.images`)."""
    values = values.astype(np.float32, copy=False)
    finite = np.isfinite(values)
    if not finite.any():
        raise DataError("the image has no finite pixel value")
    low, high = float(values[finite].min()), float(values[finite].max())
    out = np.where(finite, values, low)
    if high <= low:
        return np.zeros_like(out, dtype=np.float32)
    return ((out - low) / (high - low)).astype(np.float32)
