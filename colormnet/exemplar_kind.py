"""Telling a keyframe exemplar (the pinned frame itself, colorized) from a reference photo, by luminance SSIM.

The SSIM is :func:`colormnet.metrics.ssim` with a Gaussian window (sigma 1.5) and population statistics, Wang et
al.'s definition (scikit-image's ``gaussian_weights=True, use_sample_covariance=False``).

Shapes: images are ``(H, W, 3)`` float32 RGB in [0, 1] (sRGB); luminance planes are ``(H, W)`` CIE L* in [0, 100].
"""

from __future__ import annotations

import logging
import math
from typing import Literal

import numpy as np

from colormnet import color
from colormnet.metrics import ssim

logger = logging.getLogger(__name__)

KEYFRAME_SSIM_THRESHOLD = 0.55
"""Similarity from which an exemplar counts as a keyframe of its frame, see :func:`classify_exemplar`.

Measured with ``benchmarks/exemplar_kind_threshold.py`` on the four test clips (300 keyframe pairs, 92 reference
pairs): a colour frame against its own grayscale version scores 0.75-1.00 after grading (gamma 0.8 or 1.25,
saturation x0.5 or x1.6), JPEG q=70, a shift of 2-4 pixels, a crop of 4 pixels or 2 % a side, or halving its
size; the colour frame of the same hand-held clip 2 s later, of another clip, or a generic photo scores
-0.03-0.23. The threshold leaves 0.20 to the lowest keyframe and 0.32 to the highest reference, above the
middle of the gap (0.49) because a reference taken for a keyframe does more harm than the other way round: a
keyframe's colours are trusted pixel for pixel. Two frames of one static shot show the same picture and score
0.46-0.99; no threshold can, or needs to, separate those.
"""


# classify_exemplar compares luminance at this short side, allowing this much misregistration (working pixels).
_WORKING_SHORT_SIDE = 48
_ALIGN_RADIUS = 1
# ... with Wang et al.'s SSIM: a Gaussian window of this sigma and population statistics.
_SSIM_SIGMA = 1.5
# classify_exemplar first averages a larger exemplar down to this many pixels, this many input pixels at a time.
_CLASSIFY_MAX_PIXELS = 1_000_000
_STRIP_PIXELS = 1 << 20


def to_float_rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float RGB in [0, 1] from float, uint8 or uint16 ``(H, W, 3)`` or ``(H, W)`` input."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {array.shape}")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return array.astype(np.float32, copy=False)


def rgb_to_luma_l(rgb: np.ndarray) -> np.ndarray:
    """CIE L* (D65) of sRGB, the lightness channel the network sees.

    Args:
        rgb: ``(H, W, 3)`` RGB, float in [0, 1] or uint8/uint16.

    Returns:
        ``(H, W)`` float32 L* in [0, 100].
    """
    return color.luminance(to_float_rgb(rgb))


def _equalize(plane: np.ndarray) -> np.ndarray:
    """Maps each value to its mid-rank percentile in [0, 100] (ties share one value), undoing any tone curve."""
    _, inverse, counts = np.unique(plane, return_inverse=True, return_counts=True)
    mid_ranks = np.cumsum(counts) - counts / 2.0
    return (mid_ranks[inverse.reshape(plane.shape)] * (100.0 / plane.size)).astype(np.float64)


def _best_aligned_ssim(a: np.ndarray, b: np.ndarray, radius: int) -> float:
    """The highest SSIM of ``a`` and ``b`` over translations of up to ``radius`` pixels, on their overlap."""
    height, width = a.shape
    best = -1.0
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            a_part = a[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)]
            b_part = b[max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
            score = ssim(a_part, b_part, data_range=100.0, gaussian_sigma=_SSIM_SIGMA, sample_covariance=False)
            best = max(best, score)
    return best


def _box_reduce(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """``image`` averaged over square blocks to at most ``max_pixels``, or as it is when it has no more.

    Works a strip of rows at a time, so that a large uint8 image never exists in float at full size.

    Args:
        image: ``(H, W, 3)`` or ``(H, W)`` RGB, float in [0, 1] or uint8/uint16.
        max_pixels: the most pixels the result may have.

    Returns:
        ``image`` itself, or ``(H // f, W // f, 3)`` float32 block means in [0, 1].
    """
    height, width = image.shape[:2]
    factor = math.ceil(math.sqrt(height * width / max_pixels))
    if factor <= 1:
        return image
    rows, columns = height // factor, width // factor
    out = np.empty((rows, columns, 3), np.float32)
    strip = max(1, _STRIP_PIXELS // (factor * factor * columns))  # output rows per strip
    for top in range(0, rows, strip):
        bottom = min(rows, top + strip)
        block = to_float_rgb(image[top * factor : bottom * factor, : columns * factor])
        out[top:bottom] = block.reshape(bottom - top, factor, columns, factor, 3).mean(axis=(1, 3))
    return out


def classify_exemplar(
    exemplar_rgb: np.ndarray, frame_rgb: np.ndarray
) -> tuple[Literal["keyframe", "reference"], float]:
    """Decides whether an exemplar is a keyframe (a colorized version of its frame) or a reference photo.

    The exemplar is stretched to the frame's shape (the aspect ratio is not kept, as the network does) and both
    are resized to a short side of 48 pixels: the question is whether they show the same picture, which coarse
    structure answers, while misregistration, grain and compression noise fade at that scale. Their L* planes are
    histogram-equalized, so that the colourist's tone curve (gamma, contrast, brightness) is not counted as a
    difference, and their SSIM is taken at the best of the nine one-pixel translations (a misregistration of up
    to 2 % of the short side). ``"keyframe"`` when it reaches ``KEYFRAME_SSIM_THRESHOLD``.

    Args:
        exemplar_rgb: ``(H', W', 3)`` RGB of the exemplar, float in [0, 1] or uint8.
        frame_rgb: ``(H, W, 3)`` or ``(H, W)`` of the black-and-white frame it is pinned to, same dtypes.

    Returns:
        ``"keyframe"`` or ``"reference"``, and the similarity it was decided on.
    """
    frame = to_float_rgb(frame_rgb)
    exemplar = to_float_rgb(_box_reduce(exemplar_rgb, _CLASSIFY_MAX_PIXELS))
    height, width = frame.shape[:2]
    scale = _WORKING_SHORT_SIDE / min(height, width)
    size = (max(_WORKING_SHORT_SIDE, round(width * scale)), max(_WORKING_SHORT_SIDE, round(height * scale)))
    exemplar_l = _equalize(rgb_to_luma_l(color.resize_rgb(exemplar, *size)))
    frame_l = _equalize(rgb_to_luma_l(color.resize_rgb(frame, *size)))
    similarity = _best_aligned_ssim(exemplar_l, frame_l, _ALIGN_RADIUS)
    kind: Literal["keyframe", "reference"] = "keyframe" if similarity >= KEYFRAME_SSIM_THRESHOLD else "reference"
    logger.debug("Exemplar classified as %s (equalized L* SSIM %.3f at %dx%d).", kind, similarity, *size)
    return kind, similarity
