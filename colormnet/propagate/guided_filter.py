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

__all__ = ["box_mean", "guided_filter", "guided_filter_hwc", "guided_filter_planes", "guided_upsample"]


def box_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the ``(2r+1)^2`` window around each pixel, the window clipped at the image border.

    Args:
        x: ``H x W`` float32 plane.
        radius: window radius ``r`` (0 returns ``x``).
    """
    if radius == 0:
        return x.astype(np.float32, copy=True)
    ksize = (2 * radius + 1, 2 * radius + 1)
    total = cv2.boxFilter(x, cv2.CV_32F, ksize, normalize=False, borderType=cv2.BORDER_CONSTANT)
    return total / _window_counts(x.shape, radius)


@functools.lru_cache(maxsize=16)
def _counts(height: int, width: int, radius: int) -> np.ndarray:
    """Number of in-image pixels in each clipped window (separable: rows times columns), cached."""
    rows = np.minimum(np.arange(height) + radius, height - 1) - np.maximum(np.arange(height) - radius, 0) + 1
    cols = np.minimum(np.arange(width) + radius, width - 1) - np.maximum(np.arange(width) - radius, 0) + 1
    counts = np.outer(rows, cols).astype(np.float32)
    counts.setflags(write=False)
    return counts


def _window_counts(shape: tuple[int, ...], radius: int) -> np.ndarray:
    """Number of in-image pixels in each clipped window of a plane of ``shape``."""
    return _counts(shape[0], shape[1], radius)


@functools.lru_cache(maxsize=4)
def _inverse_counts(height: int, width: int, radius: int) -> np.ndarray:
    """1 / :func:`_counts`, cached."""
    inverse = 1.0 / _counts(height, width, radius)
    inverse.setflags(write=False)
    return inverse


def _coefficients(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Window-averaged affine coefficients ``(a, b)``, each shaped like ``source`` (``C x H x W``)."""
    mean_i = box_mean(guide, radius)
    var_i = box_mean(guide * guide, radius) - mean_i * mean_i
    denom = 1.0 / (np.maximum(var_i, 0.0) + np.float32(eps))
    a = np.empty_like(source)
    b = np.empty_like(source)
    for c, plane in enumerate(source):
        mean_p = box_mean(plane, radius)
        cov_ip = box_mean(guide * plane, radius) - mean_i * mean_p
        a_c = cov_ip * denom
        a[c] = box_mean(a_c, radius)
        b[c] = box_mean(mean_p - a_c * mean_i, radius)
    return a, b


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Filters ``source`` so its edges follow ``guide``.

    Args:
        guide: ``H x W`` guidance image (here the luminance).
        source: ``H x W`` or ``C x H x W`` planes to filter (here the chroma).
        radius: window radius ``r``.
        eps: regularisation: larger values smooth more, in the guide's squared units.

    Returns:
        The filtered planes, float32, shaped like ``source``.
    """
    guide = np.asarray(guide, dtype=np.float32)
    planes = np.asarray(source, dtype=np.float32)
    single = planes.ndim == 2
    if single:
        planes = planes[None]
    a, b = _coefficients(guide, planes, radius, eps)
    out = a * guide[None] + b
    return out[0] if single else out


def guided_filter_planes(guide: np.ndarray, planes: list[np.ndarray], radius: int, eps: float) -> list[np.ndarray]:
    """:func:`guided_filter` on separate planes, the guide's window statistics computed once, in place where it can.

    Args:
        guide: ``H x W`` float32 guidance image.
        planes: ``H x W`` float32 planes to filter.
        radius: window radius ``r`` (windows clipped at the border, as in :func:`guided_filter`).
        eps: regularisation.

    Returns:
        The filtered planes, equal to :func:`guided_filter`'s up to rounding.
    """
    if radius == 0:  # a one-pixel window has no variance to fit: the source comes back
        return [np.array(p, dtype=np.float32) for p in planes]
    guide = np.asarray(guide, dtype=np.float32)
    inv_counts = _inverse_counts(guide.shape[0], guide.shape[1], radius)
    ksize = (2 * radius + 1, 2 * radius + 1)

    def window_mean(plane: np.ndarray) -> np.ndarray:  # box_mean, computed in place (these planes are large)
        total = cv2.boxFilter(plane, cv2.CV_32F, ksize, normalize=False, borderType=cv2.BORDER_CONSTANT)
        total *= inv_counts
        return total

    mean_i = window_mean(guide)
    inv_var = window_mean(guide * guide)
    inv_var -= mean_i * mean_i
    np.maximum(inv_var, np.float32(0.0), out=inv_var)
    inv_var += np.float32(eps)
    np.reciprocal(inv_var, out=inv_var)
    out = []
    for plane in planes:
        plane = np.asarray(plane, dtype=np.float32)
        mean_p = window_mean(plane)
        slope = window_mean(guide * plane)
        slope -= mean_i * mean_p
        slope *= inv_var
        mean_p -= slope * mean_i  # now the offset
        result = window_mean(slope)
        result *= guide
        result += window_mean(mean_p)
        out.append(result)
    return out


def guided_filter_hwc(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """:func:`guided_filter_planes` for channels-last ``H x W x C`` planes; returns ``H x W x C``."""
    return cv2.merge(guided_filter_planes(guide, list(cv2.split(np.asarray(source, dtype=np.float32))), radius, eps))


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
    a, b = _coefficients(np.asarray(guide_low, dtype=np.float32), np.asarray(source_low, dtype=np.float32), radius,
                         eps)
    height, width = guide_full.shape
    if a.shape[1:] == (height, width):
        return a * guide_full[None] + b
    out = np.empty((a.shape[0], height, width), dtype=np.float32)
    for c in range(a.shape[0]):
        a_up = cv2.resize(a[c], (width, height), interpolation=cv2.INTER_LINEAR)
        b_up = cv2.resize(b[c], (width, height), interpolation=cv2.INTER_LINEAR)
        out[c] = a_up * guide_full + b_up
    return out
