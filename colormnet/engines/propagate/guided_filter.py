"""Edge-aware smoothing of chroma guided by luminance (He, Sun and Tang's guided filter).

Within every ``(2r+1) x (2r+1)`` window the output is an affine function of the guide, ``q = a * I + b``, fitted to
the source by ridge regression (``eps`` is the ridge weight); each pixel averages the fits of the windows that
contain it. Chroma therefore follows the luminance edges inside a window instead of bleeding across them.

Windows are clipped at the image border (a border pixel's window holds only the pixels inside the image), which
is what a direct window-by-window evaluation gives. :func:`guided_upsample` fits the coefficients at a low
resolution and applies them to a full-resolution guide (the "fast guided filter"), so chroma computed on a small
working grid comes back with the sharp edges of the full-size luminance.

Shapes: a guide is ``H x W`` float32; a source is ``H x W`` or ``C x H x W`` float32.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

__all__ = ["box_mean", "guided_filter", "guided_filter_planes", "guided_upsample"]


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the ``(2r+1)^2`` window around each pixel, the window clipped at the image border.

    Args:
        x: ``H x W`` float32 plane.
        radius: window radius ``r`` (0 returns a copy of ``x``).
    """
    if radius == 0:
        return x.astype(np.float32, copy=True)
    ksize = (2 * radius + 1, 2 * radius + 1)
    total = cv2.boxFilter(x, cv2.CV_32F, ksize, normalize=False, borderType=cv2.BORDER_CONSTANT)
    total *= _inverse_counts(x.shape[0], x.shape[1], radius)  # in place: the planes are frame-sized
    return total


@functools.lru_cache(maxsize=16)
def _inverse_counts(height: int, width: int, radius: int) -> np.ndarray:
    """1 / the number of in-image pixels in each clipped window (separable: rows times columns), cached."""
    rows = np.minimum(np.arange(height) + radius, height - 1) - np.maximum(np.arange(height) - radius, 0) + 1
    cols = np.minimum(np.arange(width) + radius, width - 1) - np.maximum(np.arange(width) - radius, 0) + 1
    inverse = 1.0 / np.outer(rows, cols).astype(np.float32)
    inverse.setflags(write=False)
    return inverse


def _coefficients(guide: np.ndarray, planes: list[np.ndarray], radius: int, eps: float
                  ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Window-averaged affine coefficients ``(a, b)`` of each plane; the guide's window statistics computed once."""
    guide = np.asarray(guide, dtype=np.float32)
    mean_i = box_mean(guide, radius)
    inv_var = box_mean(guide * guide, radius)
    inv_var -= mean_i * mean_i
    np.maximum(inv_var, np.float32(0.0), out=inv_var)
    inv_var += np.float32(eps)
    np.reciprocal(inv_var, out=inv_var)
    out = []
    for plane in planes:
        plane = np.asarray(plane, dtype=np.float32)
        mean_p = box_mean(plane, radius)
        slope = box_mean(guide * plane, radius)
        slope -= mean_i * mean_p
        slope *= inv_var
        mean_p -= slope * mean_i  # now the offset
        out.append((box_mean(slope, radius), box_mean(mean_p, radius)))
    return out


def guided_filter_planes(guide: np.ndarray, planes: list[np.ndarray], radius: int, eps: float) -> list[np.ndarray]:
    """Filters each of ``planes`` so its edges follow ``guide``.

    Args:
        guide: ``H x W`` guidance image (here the luminance).
        planes: ``H x W`` planes to filter (here the chroma).
        radius: window radius ``r``.
        eps: regularisation: larger values smooth more, in the guide's squared units.

    Returns:
        The filtered planes, float32.
    """
    guide = np.asarray(guide, dtype=np.float32)
    out = []
    for a, b in _coefficients(guide, planes, radius, eps):
        a *= guide
        a += b
        out.append(a)
    return out


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """:func:`guided_filter_planes` on an ``H x W`` or ``C x H x W`` array, returned in the same shape."""
    planes = np.asarray(source, dtype=np.float32)
    if planes.ndim == 2:
        return guided_filter_planes(guide, [planes], radius, eps)[0]
    return np.stack(guided_filter_planes(guide, list(planes), radius, eps))


def guided_upsample(guide_full: np.ndarray, guide_low: np.ndarray, source_low: np.ndarray, radius: int,
                    eps: float) -> np.ndarray:
    """Guided filter fitted at low resolution and applied to a full-resolution guide.

    Args:
        guide_full: ``H x W`` guide at the output size.
        guide_low: ``h x w`` the same guide at the source's size.
        source_low: ``C x h x w`` planes to filter and upsample.
        radius: window radius at the low resolution.
        eps: regularisation, as in :func:`guided_filter`.

    Returns:
        ``C x H x W`` float32.
    """
    guide_full = np.asarray(guide_full, dtype=np.float32)
    height, width = guide_full.shape
    out = []
    for a, b in _coefficients(guide_low, list(np.asarray(source_low, dtype=np.float32)), radius, eps):
        if a.shape != (height, width):
            a = cv2.resize(a, (width, height), interpolation=cv2.INTER_LINEAR)
            b = cv2.resize(b, (width, height), interpolation=cv2.INTER_LINEAR)
        out.append(a * guide_full + b)
    return np.stack(out)
