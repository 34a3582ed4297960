"""Dense optical flow on luminance, backward warping, and the forward-backward consistency test.

Convention: ``flow = estimate(first, second)`` is a ``H x W x 2`` field (x, y) with ``first(p) ~ second(p + flow(p))``.
To bring anything that lives on ``second`` onto ``first``'s grid, sample it at ``p + flow(p)`` (:func:`sample`).

A pixel of ``first`` is *consistent* when following ``flow`` forward and the reverse flow back returns it close to
where it started (Sundaram, Brox and Keutzer, 2010): pixels that become occluded in ``second``, leave the frame,
or sit on a flow error fail the test.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["FLOW_PRESETS", "FlowEstimator", "base_grid", "consistency_mask", "exposure_gain", "inside_frame", "sample",
           "sample_xy", "to_flow_image"]

FLOW_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def to_flow_image(lightness: np.ndarray, mean: float | None = None, std: float | None = None) -> np.ndarray:
    """L* in [0, 100] -> uint8 for the flow, optionally brought to a given mean and standard deviation first.

    Matching the statistics of consecutive frames removes global exposure flicker, which a brightness-constancy
    flow would otherwise read as motion.
    """
    plane = lightness.astype(np.float32, copy=False)
    if mean is not None and std is not None:
        plane = (plane - float(plane.mean())) * np.float32(exposure_gain(float(plane.std()), std)) + np.float32(mean)
    return np.clip(plane * np.float32(2.55) + np.float32(0.5), 0, 255).astype(np.uint8)


def exposure_gain(std: float, target: float) -> float:
    """The gain that brings a luminance spread ``std`` to ``target``, limited to [0.5, 2] (1 for a flat plane)."""
    return min(max(target / std, 0.5), 2.0) if std > 1e-3 else 1.0


# OpenCV's DIS takes its number of scales from the longer side and crashes (a segmentation fault, or a failed
# assertion in resize) where the shorter one then runs out first: 320x24 or 20000x20 frames. Shorter sides are
# padded to this.
_MIN_SIDE = 32


class FlowEstimator:
    """DIS optical flow (Kroeger et al., 2016) from OpenCV.

    Args:
        preset: ``ultrafast``, ``fast`` or ``medium`` (slower, more accurate).
        patch_stride: distance between the patches DIS matches, in pixels (``None``: the preset's).
    """

    def __init__(self, preset: str = "fast", patch_stride: int | None = None) -> None:
        if preset not in FLOW_PRESETS:
            raise ValueError(f"unknown flow preset {preset!r}; choose one of {', '.join(FLOW_PRESETS)}")
        self._dis = cv2.DISOpticalFlow_create(FLOW_PRESETS[preset])  # type: ignore[attr-defined]  # not in the stubs
        if patch_stride is not None:
            if not 1 <= patch_stride <= self._dis.getPatchSize():
                raise ValueError(f"patch_stride must be between 1 and the patch size ({self._dis.getPatchSize()})")
            self._dis.setPatchStride(patch_stride)

    def estimate(self, first: np.ndarray, second: np.ndarray, initial: np.ndarray | None = None) -> np.ndarray:
        """Flow from ``first`` to ``second`` (two ``H x W`` uint8 images): ``H x W x 2`` float32.

        Args:
            first: the image whose pixels the flow describes.
            second: the image they move to.
            initial: a first guess of the flow (``H x W x 2``), refined rather than started from zero; lets the
                flow follow motions larger than DIS's coarsest scale reaches.
        """
        height, width = first.shape[:2]
        grow = ((0, max(0, _MIN_SIDE - height)), (0, max(0, _MIN_SIDE - width)))
        if grow[0][1] or grow[1][1]:  # repeated edges: no motion of their own, cut off again below
            first, second = np.pad(first, grow, mode="edge"), np.pad(second, grow, mode="edge")
            initial = None if initial is None else np.pad(initial, (*grow, (0, 0)), mode="edge")
        guess = None if initial is None else np.array(initial, dtype=np.float32, order="C")
        flow = self._dis.calc(first, second, guess)
        return flow if flow.shape[:2] == (height, width) else np.ascontiguousarray(flow[:height, :width])


_grids: dict[tuple[int, int], np.ndarray] = {}


def base_grid(height: int, width: int) -> np.ndarray:
    """``H x W x 2`` float32 pixel coordinates (x, y) of every pixel (cached, read-only)."""
    key = (height, width)
    if key not in _grids:
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        grid = np.stack([xs, ys], axis=-1)
        grid.setflags(write=False)
        _grids[key] = grid
    return _grids[key]


def sample(planes: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``planes`` at absolute ``coords`` (outside: the nearest border value).

    Args:
        planes: ``H' x W'`` or ``C x H' x W'`` float32 (``C`` up to 4 in one pass).
        coords: ``H x W x 2`` float32 (x, y) positions on the planes' grid.

    Returns:
        ``H x W`` or ``C x H x W`` float32.
    """
    map_x = np.ascontiguousarray(coords[..., 0])
    map_y = np.ascontiguousarray(coords[..., 1])
    if planes.ndim == 2:
        return sample_xy(planes, map_x, map_y)
    out = sample_xy(np.ascontiguousarray(planes.transpose(1, 2, 0)), map_x, map_y)
    return out.reshape(*coords.shape[:2], planes.shape[0]).transpose(2, 0, 1)


def sample_xy(planes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``H' x W'`` or channels-last ``H' x W' x C`` planes at positions (``x``, ``y``).

    ``x`` and ``y`` are ``H x W`` float32 planes; outside the planes the nearest border value is read. Keep ``C`` at
    4 or less: OpenCV takes a slower path, which also rounds differently, for more channels.
    """
    return cv2.remap(planes, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(flow: np.ndarray, reverse: np.ndarray, alpha: float = 0.01, beta: float = 0.5) -> np.ndarray:
    """Which pixels of ``first`` survive the forward-backward test.

    Args:
        flow: ``first -> second`` flow, ``H x W x 2``.
        reverse: ``second -> first`` flow, ``H x W x 2``.
        alpha: tolerance relative to the squared motion (large motions may err more).
        beta: absolute tolerance in squared pixels.

    Returns:
        ``H x W`` bool, True where the round trip returns within
        ``|flow + reverse(p + flow)|^2 <= alpha * (|flow|^2 + |reverse(p + flow)|^2) + beta`` and ``p + flow``
        lands inside the frame.
    """
    height, width = flow.shape[:2]
    target = base_grid(height, width) + flow
    back = sample_xy(reverse, target[..., 0], target[..., 1])
    fx, fy, bx, by = flow[..., 0], flow[..., 1], back[..., 0], back[..., 1]
    err = (fx + bx) ** 2 + (fy + by) ** 2
    bound = alpha * (fx * fx + fy * fy + bx * bx + by * by) + beta
    return (err <= bound) & inside_frame(target, height, width)


def inside_frame(coords: np.ndarray, height: int, width: int) -> np.ndarray:
    """``H x W`` bool: which (x, y) positions of ``coords`` lie on a ``height x width`` grid."""
    x, y = coords[..., 0], coords[..., 1]
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
