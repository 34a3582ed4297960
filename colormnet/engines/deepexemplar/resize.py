"""The anti-aliased linear resize of the official pre-processing, without scikit-image or SciPy.

The official code resizes frames with ``skimage.transform.resize(image, shape, order=1, mode="reflect",
anti_aliasing=True, preserve_range=True)`` on the uint8 array and truncates the float64 result to uint8. That call
is a Gaussian pre-filter (``sigma = max(0, (in / out - 1) / 2)`` per axis, kernel radius ``int(4 sigma + 0.5)``,
mirrored borders) followed by linear interpolation at pixel centres (``x_in = (x_out + 0.5) * in / out - 0.5``,
mirrored borders). Both are reproduced here in float64 with the same order of operations as SciPy's ``ndimage``,
so a truncated result agrees with scikit-image's except where a value lies within float rounding of an integer.
"""

from __future__ import annotations

import numpy as np

__all__ = ["resize_like_skimage"]


def _mirror(index: np.ndarray, size: int) -> np.ndarray:
    """Mirror (whole-sample symmetric, edge not repeated) indices into ``[0, size)``."""
    if size == 1:
        return np.zeros_like(index)
    period = 2 * size - 2
    index = np.abs(index) % period
    return np.where(index >= size, period - index, index)


def _gaussian_axis(x: np.ndarray, sigma: float, axis: int) -> np.ndarray:
    """SciPy's ``gaussian_filter1d`` (mode ``mirror``, truncate 4) along ``axis`` in float64."""
    radius = int(4.0 * sigma + 0.5)
    taps = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 / (sigma * sigma) * taps.astype(np.float64) ** 2)
    kernel = kernel / kernel.sum()
    x = np.moveaxis(x, axis, 0)
    n = x.shape[0]
    base = np.arange(n)
    out = x * kernel[radius]
    for j in range(radius, 0, -1):  # symmetric kernel: (x[i - j] + x[i + j]) * w[j], outermost taps first
        out = out + (x[_mirror(base - j, n)] + x[_mirror(base + j, n)]) * kernel[radius - j]
    return np.moveaxis(out, 0, axis)


def _linear_axis(x: np.ndarray, size: int, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of linear interpolation at pixel centres along ``axis``.

    Like SciPy, a coordinate below 0 is mirrored, one above ``n - 1`` only once it reaches ``n``; neighbours that
    fall outside are mirrored as indices.
    """
    n = x.shape[axis]
    coord = (np.arange(size, dtype=np.float64) + 0.5) * (n / size) - 0.5
    if n > 1:
        period = 2 * n - 2
        low = period * np.trunc(-coord / period) + coord
        low = np.where(low <= 1 - n, low + period, -low)
        high = coord - period * np.trunc(coord / period)
        high = np.where(high >= n, period - high, high)
        coord = np.where(coord < 0, low, np.where(coord > n - 1, high, coord))
    else:
        coord = np.zeros_like(coord)
    start = np.floor(coord)
    t = coord - start
    lo = start.astype(np.int64)
    return _mirror(lo, n), _mirror(lo + 1, n), t


def resize_like_skimage(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resizes ``H x W x C`` (or ``H x W``) like scikit-image's anti-aliased, range-preserving linear resize.

    Returns:
        float64 values in the input's range (not clipped, not rounded).
    """
    x = np.asarray(image, dtype=np.float64)
    for axis, size in ((0, height), (1, width)):
        sigma = max(0.0, (x.shape[axis] / size - 1) / 2)
        if sigma > 1e-15:
            x = _gaussian_axis(x, sigma, axis)
    y0, y1, ty = _linear_axis(x, height, 0)
    x0, x1, tx = _linear_axis(x, width, 1)
    # SciPy's order-1 weights: w0 = 1 - t, and w1 = 1 - w0 (which is not always t in floating point).
    wy0, wx0 = (1.0 - ty)[:, None], (1.0 - tx)[None, :]
    wy1, wx1 = 1.0 - wy0, 1.0 - wx0
    if x.ndim == 3:
        wy0, wy1, wx0, wx1 = wy0[..., None], wy1[..., None], wx0[..., None], wx1[..., None]
    rows0, rows1 = x[y0], x[y1]
    # SciPy sums the neighbours row-major, each as value * weight_y * weight_x.
    out = rows0[:, x0] * wy0 * wx0
    out = out + rows0[:, x1] * wy0 * wx1
    out = out + rows1[:, x0] * wy1 * wx0
    out = out + rows1[:, x1] * wy1 * wx1
    return out
