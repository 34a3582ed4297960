"""Fast global smoother: the edge-aware weighted-least-squares filter that softens the predicted chroma.

A re-implementation of the fast global image smoother (Min et al., "Fast Global Image Smoothing Based on Weighted
Least Squares", IEEE TIP 2014) with the conventions of the OpenCV ``ximgproc`` filter the official Deep Exemplar
code calls (``createFastGlobalSmootherFilter(guide, 500, 4)``), so no OpenCV contrib build is needed.

Each iteration solves a 1-D weighted least-squares problem along every row, then along every column:
``(I + lambda * L_w) u = f`` where ``L_w`` is the path-graph Laplacian with the guide's edge weights
``w = exp(-|g_i - g_j| / sigma_color)`` (``g`` the 8-bit guide). The tridiagonal systems are solved exactly with the
Thomas algorithm; ``lambda`` is multiplied by ``lambda_attenuation`` after each iteration. Everything is float32,
in the order of operations of the reference filter, so results agree with it to float rounding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["edge_weights", "fast_global_smoother"]


def _weight_table(sigma_color: float) -> np.ndarray:
    """``-exp(-sqrt(d2) / sigma)`` for every squared 8-bit difference ``d2`` (float32, like the reference LUT)."""
    d2 = np.arange(256 * 256, dtype=np.float32)
    return (-np.exp(-np.sqrt(d2) / np.float32(sigma_color))).astype(np.float32)


def edge_weights(guide: np.ndarray, sigma_color: float) -> tuple[np.ndarray, np.ndarray]:
    """Negative edge weights between neighbours of an 8-bit single-channel guide.

    Args:
        guide: ``H x W`` uint8 guide image.
        sigma_color: range scale in 8-bit levels.

    Returns:
        ``(horizontal, vertical)``, both ``H x W`` float32: ``horizontal[i, j]`` links pixel ``(i, j)`` to
        ``(i, j + 1)`` (0 in the last column), ``vertical[i, j]`` links ``(i, j)`` to ``(i + 1, j)`` (0 in the last
        row).
    """
    if guide.dtype != np.uint8 or guide.ndim != 2:
        raise ValueError("the guide must be a 2-D uint8 image")
    table = _weight_table(sigma_color)
    g = guide.astype(np.int64)
    horizontal = np.zeros(guide.shape, np.float32)
    vertical = np.zeros(guide.shape, np.float32)
    horizontal[:, :-1] = table[(g[:, 1:] - g[:, :-1]) ** 2]
    vertical[:-1, :] = table[(g[1:, :] - g[:-1, :]) ** 2]
    return horizontal, vertical


def _solve_lines(values: np.ndarray, weights: np.ndarray, lam: np.float32) -> None:
    """Solves ``(I + lam * L_w) u = f`` in place along axis 0 for every line of ``values`` (``n x ...``).

    ``weights[k]`` (negative) links samples ``k`` and ``k + 1``; ``weights[n - 1]`` is 0.
    """
    n = values.shape[0]
    one = np.float32(1.0)
    ratio = np.empty(weights.shape, np.float32)  # the Thomas algorithm's modified super-diagonal
    coef_prev = lam * weights[0]
    ratio[0] = coef_prev / (one - coef_prev)
    values[0] = values[0] / (one - coef_prev)
    for k in range(1, n):
        coef_cur = lam * weights[k]
        denom = (one - coef_prev - coef_cur) - ratio[k - 1] * coef_prev
        ratio[k] = coef_cur / denom
        values[k] = (values[k] - values[k - 1] * coef_prev) / denom
        coef_prev = coef_cur
    for k in range(n - 2, -1, -1):
        values[k] -= ratio[k] * values[k + 1]


def fast_global_smoother(
    image: np.ndarray,
    guide: np.ndarray,
    lam: float = 500.0,
    sigma_color: float = 4.0,
    lambda_attenuation: float = 0.25,
    iterations: int = 3,
) -> np.ndarray:
    """Smooths the planes of ``image`` while keeping the edges of ``guide``.

    Args:
        image: ``H x W`` or ``C x H x W`` values (each plane is filtered on its own, with the same weights).
        guide: ``H x W`` uint8 guide (the 8-bit luminance).
        lam: strength of the smoothing (lambda).
        sigma_color: range scale of the edge weights, in 8-bit levels.
        lambda_attenuation: factor applied to ``lam`` after every iteration.
        iterations: number of row-then-column passes.

    Returns:
        The smoothed planes, float32, the shape of ``image``.
    """
    planes = np.array(image, dtype=np.float32, copy=True)
    squeeze = planes.ndim == 2
    if squeeze:
        planes = planes[None]
    if planes.shape[-2:] != guide.shape:
        raise ValueError(f"image {planes.shape[-2:]} and guide {guide.shape} differ in size")
    if iterations < 1 or lam < 0 or sigma_color <= 0:
        raise ValueError("need iterations >= 1, lam >= 0 and sigma_color > 0")
    horizontal, vertical = edge_weights(guide, sigma_color)
    # Lines along axis 0 with everything else as the batch: rows need the column axis first.
    rows = np.ascontiguousarray(planes.transpose(2, 0, 1))  # W x C x H
    horizontal_t = np.ascontiguousarray(horizontal.T)[:, None, :]  # W x 1 x H
    vertical_t = vertical[:, None, :]  # H x 1 x W
    lam32 = np.float32(lam)
    for _ in range(iterations):
        _solve_lines(rows, horizontal_t, lam32)
        columns = np.ascontiguousarray(rows.transpose(2, 1, 0))  # H x C x W
        _solve_lines(columns, vertical_t, lam32)
        rows = np.ascontiguousarray(columns.transpose(2, 1, 0))
        lam32 = np.float32(lam32 * np.float32(lambda_attenuation))
    out = np.ascontiguousarray(rows.transpose(1, 2, 0))
    return out[0] if squeeze else out
