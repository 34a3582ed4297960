"""Pixel work between the engine and the user: two passes fused by position and confidence, chroma resized.

A blend stashes one pass's chroma (with the engine's confidence as a third plane) at the processing size, and fuses
it into the other pass's at that size; the fused chroma is then resized to the source's size here, with OpenCV.
Every other frame comes from its engine at the size asked for.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["CONFIDENCE_FLOOR", "fuse", "fusion_weight", "resize_chroma", "with_confidence"]

#: Confidence every pass keeps in the fusion: where both passes have lost the trail, position alone decides.
CONFIDENCE_FLOOR = 0.02


def with_confidence(ab: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    """``2 x h x w`` chroma, with the engine's ``h x w`` confidence as a third plane when it gives one."""
    if confidence is None or confidence.shape != ab.shape[-2:]:
        return ab
    return np.concatenate([ab, confidence[None].astype(np.float32)])


def fusion_weight(weight: float, first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray:
    """The second pass's share of each pixel: its position weight, tilted towards the pass that is surer there.

    Returns a 0-d array (the position weight) unless both passes give a confidence of the same shape.
    """
    if first is None or second is None or first.shape != second.shape:
        return np.asarray(weight, np.float32)
    a = (1.0 - weight) * (first.astype(np.float32) + CONFIDENCE_FLOOR)
    b = weight * (second.astype(np.float32) + CONFIDENCE_FLOOR)
    return (b / (a + b)).astype(np.float32)


def fuse(first: np.ndarray, stashed: np.ndarray, weight: float, confidence: np.ndarray | None) -> np.ndarray:
    """``2 x h x w`` chroma of this pass fused with a stashed pass (``2`` or ``3 x h x w``, see
    :func:`with_confidence`), the stashed pass's share given by :func:`fusion_weight`."""
    share = fusion_weight(weight, confidence, stashed[2] if len(stashed) == 3 else None)
    ab = first.astype(np.float32, copy=False)
    return (ab + share * (stashed[:2] - ab)).astype(np.float32, copy=False)


def resize_chroma(ab: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``C x h x w`` float32 planes resized bilinearly (pixel centres aligned) to ``size``."""
    if ab.shape[-2:] == size:
        return ab
    height, width = size
    return np.stack([cv2.resize(np.ascontiguousarray(p), (width, height), interpolation=cv2.INTER_LINEAR)
                     for p in ab])
