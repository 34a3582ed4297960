"""Colour conversions and normalisation, matching the official pre- and post-processing (NumPy and Pillow only).

The official code converts with scikit-image (sRGB, D65, 2° observer) in float64 and resizes the exemplar with
Pillow's bilinear filter. Both are ported here as plain formulas so the library does not need scikit-image, and
the outputs agree with it to float rounding (tested against it).

Normalised ranges used by the network: ``L' = (L - 50) / 50`` in [-1, 1]; ``a' = a / 110``; ``b' = b / 110``.
The tensor work (resizing planes on a device, padding to the network's multiple) lives with the engines, in
:mod:`colormnet.engines.tensors`.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

# sRGB (D65) -> XYZ, as used by scikit-image.
XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
RGB_FROM_XYZ = np.linalg.inv(XYZ_FROM_RGB)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])

L_CENTER = 50.0
L_SCALE = 50.0
AB_SCALE = 110.0


def to_unit_float(rgb: np.ndarray) -> np.ndarray:
    """Converts an RGB array (uint8, uint16 or float in [0, 1]) to float64 in [0, 1]."""
    if rgb.dtype == np.uint8:
        return rgb.astype(np.float64) / 255.0
    if rgb.dtype == np.uint16:
        return rgb.astype(np.float64) / 65535.0
    return rgb.astype(np.float64)


def _linearize(arr: np.ndarray) -> np.ndarray:
    """sRGB gamma expansion of float64 values in [0, 1]."""
    return np.where(arr > 0.04045, ((arr + 0.055) / 1.055) ** 2.4, arr / 12.92)


# Integer inputs take their linear values from a table built with the very same float64 formula (identical results).
_LINEAR_TABLES: dict[np.dtype, np.ndarray] = {}


def linear_rgb(rgb: np.ndarray) -> np.ndarray:
    """Linear-light float64 RGB of an sRGB array (uint8, uint16 or float in [0, 1])."""
    if rgb.dtype in (np.uint8, np.uint16):
        table = _LINEAR_TABLES.get(rgb.dtype)
        if table is None:
            levels = np.arange(np.iinfo(rgb.dtype).max + 1, dtype=rgb.dtype)
            table = _LINEAR_TABLES.setdefault(rgb.dtype, _linearize(to_unit_float(levels)))
        return table[rgb]
    return _linearize(to_unit_float(rgb))


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB -> CIELAB (D65), the scikit-image formulas in float64.

    Args:
        rgb: ``(..., 3)`` array, uint8, uint16 or float in [0, 1].

    Returns:
        ``(..., 3)`` float64 array of L in [0, 100], a and b.
    """
    linear = linear_rgb(rgb)
    # The 3x3 product written out, summed left to right: a BLAS matmul may round the last bit differently from one
    # numpy build to the next, and the official inputs are reproduced bit for bit only this way.
    m = XYZ_FROM_RGB
    xyz = linear[..., 0:1] * m[:, 0] + linear[..., 1:2] * m[:, 1] + linear[..., 2:3] * m[:, 2]
    xyz = xyz / D65_WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (D65) -> sRGB in [0, 1], the scikit-image formulas (negative z clipped, output clipped)."""
    lab = lab.astype(np.float64, copy=False)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = lab[..., 1] / 500.0 + fy
    fz = np.maximum(fy - lab[..., 2] / 200.0, 0.0)
    f = np.stack([fx, fy, fz], axis=-1)
    xyz = np.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787) * D65_WHITE
    linear = xyz @ RGB_FROM_XYZ.T
    gamma = 1.055 * np.power(np.maximum(linear, 0.0031308), 1 / 2.4) - 0.055
    rgb = np.where(linear > 0.0031308, gamma, linear * 12.92)
    return np.clip(rgb, 0.0, 1.0)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """CIE L* of an RGB image, float32 ``(H, W)`` in [0, 100] (cheaper than a full LAB conversion)."""
    linear = linear_rgb(rgb)
    y = linear @ XYZ_FROM_RGB[1]
    f = np.where(y > 0.008856, np.cbrt(y), 7.787 * y + 16.0 / 116.0)
    return (116.0 * f - 16.0).astype(np.float32)


def normalize_l(lightness: np.ndarray) -> np.ndarray:
    """L in [0, 100] -> L' in [-1, 1] (in the input's precision)."""
    return (lightness - L_CENTER) / L_SCALE


def normalize_lab(lab: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` LAB -> ``(3, H, W)`` float32 ``[L', a', b']`` (cast to float32 before scaling, as officially)."""
    lab32 = lab.astype(np.float32).transpose(2, 0, 1)
    out = np.empty_like(lab32)
    out[0] = (lab32[0] - np.float32(L_CENTER)) / np.float32(L_SCALE)
    out[1:] = lab32[1:] / np.float32(AB_SCALE)
    return out


def compose_rgb(lightness: np.ndarray, ab_norm: np.ndarray) -> np.ndarray:
    """Combines luminance and predicted chroma into RGB.

    The formulas of :func:`lab_to_rgb` in float64, evaluated in strips of rows on a few threads (NumPy releases the
    interpreter in its loops): this runs on every full-resolution output frame.

    Args:
        lightness: ``(H, W)`` L* in [0, 100].
        ab_norm: ``(2, H, W)`` normalised chroma a', b'.

    Returns:
        ``(H, W, 3)`` float32 RGB in [0, 1].
    """
    out = np.empty((*lightness.shape, 3), dtype=np.float32)
    height = lightness.shape[0]
    rows = max(1, -(-height // _COMPOSE_THREADS))
    strips = [slice(top, min(height, top + rows)) for top in range(0, height, rows)]
    if len(strips) == 1 or lightness.size < _COMPOSE_MIN_PIXELS:
        _compose_strip(lightness, ab_norm, out, slice(0, height))
    else:
        list(_compose_pool().map(lambda rows: _compose_strip(lightness, ab_norm, out, rows), strips))
    return out


_COMPOSE_THREADS = max(1, min(4, os.cpu_count() or 1))
_COMPOSE_MIN_PIXELS = 1 << 16  # smaller frames are composed on the calling thread
_pool: ThreadPoolExecutor | None = None


def _compose_pool() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_COMPOSE_THREADS, thread_name_prefix="compose")
    return _pool


def _compose_strip(lightness: np.ndarray, ab_norm: np.ndarray, out: np.ndarray, rows: slice) -> None:
    """:func:`compose_rgb` of the rows ``rows``, written into ``out``."""
    lum = np.asarray(lightness[rows], dtype=np.float64)
    ab = ab_norm[:, rows] * ab_norm.dtype.type(AB_SCALE)  # in the input's precision, as lab_to_rgb's callers do
    fy = (lum + 16.0) / 116.0
    fx = ab[0].astype(np.float64) / 500.0 + fy
    fz = np.maximum(fy - ab[1].astype(np.float64) / 200.0, 0.0)
    xyz = [np.where(f > 0.2068966, f**3, (f - 16.0 / 116.0) / 7.787) * white
           for f, white in zip((fx, fy, fz), D65_WHITE.tolist(), strict=True)]
    for c, row in enumerate(RGB_FROM_XYZ.tolist()):
        linear = xyz[0] * row[0] + xyz[1] * row[1] + xyz[2] * row[2]
        gamma = 1.055 * np.power(np.maximum(linear, 0.0031308), 1 / 2.4) - 0.055
        out[rows, :, c] = np.clip(np.where(linear > 0.0031308, gamma, linear * 12.92), 0.0, 1.0)


def to_uint8_truncated(rgb: np.ndarray) -> np.ndarray:
    """Float RGB in [0, 1] -> uint8 by truncation (``astype``), as the official code saves its PNGs."""
    return (np.clip(rgb, 0.0, 1.0) * 255).astype(np.uint8)


def _exact_uint8(rgb: np.ndarray, strip_pixels: int = 1 << 20) -> np.ndarray | None:
    """Float RGB whose values are all multiples of 1/255 as uint8, else None.

    Tested a strip of rows at a time, so that a large image never gets a float64 copy of its full size.
    """
    out = np.empty(rgb.shape, np.uint8)
    rows = max(1, strip_pixels // max(1, rgb.shape[1]))
    for top in range(0, rgb.shape[0], rows):
        scaled = np.asarray(rgb[top : top + rows], dtype=np.float64) * 255.0
        rounded = np.round(scaled)
        if not np.all(np.abs(scaled - rounded) < 1e-4):
            return None
        out[top : top + rows] = rounded
    return out


def resize_rgb(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resizes an RGB image with Pillow's bilinear filter (antialiased when shrinking), aspect not kept.

    8-bit content (uint8, or floats that are exact multiples of 1/255) is resized as 8-bit RGB like the official
    code, for bit parity; anything else channel by channel in 32-bit float so 16-bit precision survives.

    Returns:
        ``(height, width, 3)`` float32 RGB in [0, 1].
    """
    if rgb.shape[1] == width and rgb.shape[0] == height:
        return to_unit_float(rgb).astype(np.float32)
    as8 = rgb if rgb.dtype == np.uint8 else None
    if as8 is None and rgb.dtype != np.uint16:
        as8 = _exact_uint8(rgb)
    if as8 is not None:
        out = Image.fromarray(as8, mode="RGB").resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(out, dtype=np.float32) / 255.0
    unit = to_unit_float(rgb).astype(np.float32)
    channels = [
        np.asarray(Image.fromarray(unit[..., c], mode="F").resize((width, height), Image.Resampling.BILINEAR))
        for c in range(3)
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0)


def pad_amounts(height: int, width: int, multiple: int = 112) -> tuple[int, int, int, int]:
    """Centred zero padding to a multiple: ``(left, right, top, bottom)``, floor on top/left."""
    dh = -height % multiple
    dw = -width % multiple
    top, left = dh // 2, dw // 2
    return left, dw - left, top, dh - top
