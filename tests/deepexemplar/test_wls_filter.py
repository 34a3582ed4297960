"""The fast global smoother against a dense weighted-least-squares solve, and against the official filter output."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from colormnet.engines.deepexemplar.wls_filter import edge_weights, fast_global_smoother


def _dense_reference(image: np.ndarray, guide: np.ndarray, lam: float, sigma: float, attenuation: float,
                     iterations: int) -> np.ndarray:
    """Every pass as an explicit (I + lam * Laplacian) solve in float64, rows then columns."""
    g = guide.astype(np.float64)
    u = image.astype(np.float64)
    for _ in range(iterations):
        for axis in (1, 0):
            lines = np.moveaxis(u, axis, -1).copy()
            guides = np.moveaxis(g, axis, -1)
            for i in range(lines.shape[0]):
                w = np.exp(-np.abs(np.diff(guides[i])) / sigma)
                n = lines.shape[1]
                a = np.eye(n)
                for k, wk in enumerate(w):
                    a[k, k] += lam * wk
                    a[k + 1, k + 1] += lam * wk
                    a[k, k + 1] -= lam * wk
                    a[k + 1, k] -= lam * wk
                lines[i] = np.linalg.solve(a, lines[i])
            u = np.moveaxis(lines, -1, axis)
        lam *= attenuation
    return u


@pytest.mark.parametrize("shape", [(7, 9), (1, 5), (12, 3)])
def test_matches_a_dense_solve(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(3)
    guide = rng.integers(0, 256, shape).astype(np.uint8)
    guide[:, : shape[1] // 2] = 40  # a flat region next to noise: strong and weak links
    image = rng.normal(0, 30, shape).astype(np.float32)
    ours = fast_global_smoother(image, guide, 50.0, 4.0, 0.25, 3)
    np.testing.assert_allclose(ours, _dense_reference(image, guide, 50.0, 4.0, 0.25, 3), atol=2e-3)


def test_planes_are_filtered_independently_and_edges_kept() -> None:
    guide = np.zeros((20, 30), np.uint8)
    guide[:, 15:] = 200  # one strong edge
    image = np.stack([np.where(guide > 0, 50.0, -50.0), np.random.default_rng(0).normal(0, 10, guide.shape)])
    out = fast_global_smoother(image, guide)
    np.testing.assert_allclose(out[0], fast_global_smoother(image[0], guide), rtol=0, atol=0)
    assert abs(out[0, :, :14].mean() + 50) < 0.5 and abs(out[0, :, 16:].mean() - 50) < 0.5
    assert out[1].std() < image[1].std() / 5  # no edge in the guide there: smoothed flat
    horizontal, vertical = edge_weights(guide, 4.0)
    assert horizontal[:, -1].max() == 0 and vertical[-1].max() == 0 and horizontal[0, 14] > -1e-10


def test_matches_the_official_filter(golden) -> None:
    ab = torch.from_numpy(golden["ab_predict"][None, 0])
    up = (F.interpolate(ab, scale_factor=2, mode="bilinear", align_corners=False) * 1.25)[0].numpy()
    ours = fast_global_smoother(up, golden["fgs_guide_uint8_0"], 500.0, 4.0)
    assert np.abs(ours - golden["fgs_out_0"]).max() <= 0.05
