"""Global correspondence for a reference exemplar: colours an anchor frame from a photo that is not that frame.

1. The photo's luminance is histogram-matched to the frame's, so a different exposure or grade does not decide the
   matches.
2. ORB features matched between the two and a RANSAC homography align them where they show the same scene from a
   different view (a neighbouring shot, a production still). A DIS flow then refines the alignment locally, and the
   aligned chroma is kept where the luminance agrees.
3. Everywhere else (and for photos of another scene) the chroma comes from the photo's pixels with the most
   similar luminance texture (:class:`colormnet.engines.propagate.matching.ExemplarMatcher`).
4. A guided filter on the frame's luminance tidies the result.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from colormnet import color
from colormnet.engines.propagate.config import PropagateConfig
from colormnet.engines.propagate.flow import FlowEstimator, base_grid, consistency_mask, sample, to_flow_image
from colormnet.engines.propagate.guided_filter import guided_filter
from colormnet.engines.propagate.matching import ExemplarMatcher

logger = logging.getLogger(__name__)

__all__ = ["align_reference", "find_homography", "histogram_match"]

MIN_INLIERS = 20  # RANSAC inliers needed before the photo is taken to show the frame's scene
MIN_INLIER_RATIO = 0.3


def histogram_match(source: np.ndarray, template: np.ndarray, bins: int = 256) -> np.ndarray:
    """``source`` with its values remapped so their distribution is that of ``template`` (both L* planes)."""
    edges = np.linspace(0.0, 100.0, bins + 1, dtype=np.float64)
    src_hist, _ = np.histogram(np.clip(source, 0, 100), edges)
    tpl_hist, _ = np.histogram(np.clip(template, 0, 100), edges)
    src_cdf = np.cumsum(src_hist) / max(src_hist.sum(), 1)
    tpl_cdf = np.cumsum(tpl_hist) / max(tpl_hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    mapping = np.interp(src_cdf, tpl_cdf, centres)
    idx = np.clip((source / 100.0 * bins).astype(np.int64), 0, bins - 1)
    return mapping[idx].astype(np.float32)


def find_homography(frame: np.ndarray, photo: np.ndarray) -> np.ndarray | None:
    """A homography taking frame pixels to photo pixels (two uint8 images), or None without enough evidence."""
    orb = cv2.ORB_create(nfeatures=1500)  # type: ignore[attr-defined]  # not in the stubs
    kp_f, des_f = orb.detectAndCompute(frame, None)
    kp_p, des_p = orb.detectAndCompute(photo, None)
    if des_f is None or des_p is None or len(kp_f) < MIN_INLIERS or len(kp_p) < MIN_INLIERS:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des_f, des_p, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    src = np.array([kp_f[m.queryIdx].pt for m in good], dtype=np.float32)
    dst = np.array([kp_p[m.trainIdx].pt for m in good], dtype=np.float32)
    matrix, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
    if matrix is None or inliers is None:
        return None
    count = int(inliers.sum())
    if count < MIN_INLIERS or count < MIN_INLIER_RATIO * len(good):
        return None
    logger.debug("Reference aligned by a homography (%d of %d matches)", count, len(good))
    return matrix


def _photo_planes(lab: np.ndarray, image: np.ndarray | None, height: int, width: int) -> np.ndarray:
    """``h' x w' x 3`` LAB of the photo: its own aspect kept (short side as the frame's) when the image is given."""
    if image is None:
        planes = lab.transpose(1, 2, 0)
        out = cv2.resize(np.ascontiguousarray(planes), (width, height), interpolation=cv2.INTER_AREA)
        return np.stack([out[..., 0] * color.L_SCALE + color.L_CENTER, out[..., 1], out[..., 2]], axis=-1)
    ih, iw = image.shape[:2]
    scale = min(height, width) / min(ih, iw)
    rgb = color.resize_rgb(image, max(1, round(iw * scale)), max(1, round(ih * scale)))
    photo = color.rgb_to_lab(rgb).astype(np.float32)
    photo[..., 1:] /= color.AB_SCALE
    return photo


def align_reference(lightness: np.ndarray, lab: np.ndarray, image: np.ndarray | None,
                    config: PropagateConfig) -> np.ndarray:
    """Chroma for an anchor frame from a reference photo.

    Args:
        lightness: ``h x w`` L* of the anchor frame on the working grid.
        lab: ``3 x H x W`` normalised LAB of the photo stretched to the frame (used when ``image`` is None).
        image: the photo as given, ``H' x W' x 3`` RGB in [0, 1], or None.
        config: the engine's settings.

    Returns:
        ``2 x h x w`` normalised chroma.
    """
    height, width = lightness.shape
    photo = _photo_planes(lab, image, height, width)
    photo_light = histogram_match(photo[..., 0], lightness)
    photo_ab = np.ascontiguousarray(photo[..., 1:].transpose(2, 0, 1))
    matcher = ExemplarMatcher(photo_light, photo_ab, samples=config.match_samples,
                              neighbours=config.match_neighbours, position_weight=config.match_position_weight)
    match_ab, _ = matcher.match(lightness)
    num = config.fallback_weight * match_ab
    den = np.full((height, width), config.fallback_weight, dtype=np.float32)

    frame_image = to_flow_image(lightness)
    photo_image = to_flow_image(photo_light)
    matrix = find_homography(frame_image, photo_image)
    if matrix is not None:
        coords = cv2.perspectiveTransform(base_grid(height, width).reshape(-1, 1, 2), matrix).reshape(height, width, 2)
        warped_light = sample(photo_light, coords)
        flow_estimator = FlowEstimator(config.flow_preset)
        warped_image = to_flow_image(warped_light)
        flow = flow_estimator.estimate(frame_image, warped_image)
        reverse = flow_estimator.estimate(warped_image, frame_image)
        consistent = consistency_mask(flow, reverse, config.consistency_alpha, config.consistency_beta)
        refined = sample(np.ascontiguousarray(coords.transpose(2, 0, 1)), base_grid(height, width) + flow)
        refined = refined.transpose(1, 2, 0)
        ph, pw = photo_light.shape
        inside = ((refined[..., 0] >= 0) & (refined[..., 0] <= pw - 1) & (refined[..., 1] >= 0)
                  & (refined[..., 1] <= ph - 1))
        diff = cv2.blur((sample(photo_light, refined) - lightness) ** 2, (3, 3))
        weight = np.exp(-diff / config.luma_sigma**2) * consistent * inside
        num = num + weight * sample(photo_ab, refined)
        den = den + weight
    ab = num / den
    return guided_filter(lightness / 100.0, ab, config.guide_radius, config.guide_eps)
