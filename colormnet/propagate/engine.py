"""The propagation engine: carries the exemplar's chroma through one segment run with optical flow.

The anchor frame's chroma is the exemplar's (a keyframe), or for a reference photo the result of a global
correspondence step (:mod:`colormnet.propagate.reference`). Then, for each following frame on a small working grid:

1. Luminance flicker is normalised (global mean and spread matched to the previous frame) before the flow.
2. DIS flow is computed both ways between this frame and the previous one; the forward-backward test marks
   occlusions, disocclusions and flow failures.
3. Each pixel keeps a *chain*: its position in the anchor frame, composed through the consistent flows. Chroma read
   there from the exemplar is not resampled frame after frame, so it neither blurs nor loses saturation (this is
   the re-anchoring: wherever the chain holds and the luminance still agrees, the colour comes from the exemplar).
4. The previous frame's chroma, warped, covers pixels whose chain broke but whose last motion step is consistent.
5. Where neither agrees with the frame's luminance (disocclusions, cuts, scratches), the chroma of the exemplar
   pixels with the most similar luminance texture fills in (:mod:`colormnet.propagate.matching`).
6. The blend is refined and brought to the full size by a guided filter on the frame's luminance, so chroma stops
   at luminance edges instead of bleeding across them.

Shapes: ``*_work`` arrays live on the working grid (``h x w``); outputs are at the processing size (``H x W``).
L planes are L* in [0, 100]; chroma planes normalised a', b'.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import torch

from colormnet.color import L_CENTER, L_SCALE
from colormnet.errors import InferenceError
from colormnet.inference.engine import ExemplarInput
from colormnet.propagate.config import PropagateConfig
from colormnet.propagate.flow import FlowEstimator, base_grid, consistency_mask, sample, to_flow_image
from colormnet.propagate.guided_filter import guided_filter, guided_upsample
from colormnet.propagate.matching import ExemplarMatcher, match_statistics
from colormnet.propagate.reference import align_reference

logger = logging.getLogger(__name__)

__all__ = ["PropagationEngine", "work_shape"]


def work_shape(height: int, width: int, work_size: int) -> tuple[int, int]:
    """The working grid for a ``height x width`` frame: at most ``work_size`` on the short side."""
    short = min(height, width)
    if short <= work_size:
        return height, width
    scale = work_size / short
    return max(1, round(height * scale)), max(1, round(width * scale))


def _upsample(planes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of ``C x h x w`` planes to ``C x H x W``."""
    if planes.shape[-2:] == (height, width):
        return planes
    return np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in planes])


def _resize(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """Area-averaged resize of ``H x W`` or ``C x H x W`` float32 planes."""
    if plane.shape[-2:] == (height, width):
        return plane.astype(np.float32, copy=True)
    if plane.ndim == 2:
        return cv2.resize(plane, (width, height), interpolation=cv2.INTER_AREA)
    return np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_AREA) for p in plane])


class PropagationEngine:
    """Colorizes one segment run, frame by frame, from its exemplar (see the module docstring).

    Args:
        config: the engine's settings.
    """

    def __init__(self, config: PropagateConfig | None = None) -> None:
        self.config = config or PropagateConfig()
        self._flow = FlowEstimator(self.config.flow_preset)
        self._check_flow = FlowEstimator(self.config.check_preset)
        self._started = False

    @torch.inference_mode()
    def step(self, lightness: torch.Tensor, exemplar: ExemplarInput | None = None, end: bool = False) -> torch.Tensor:
        """Colorizes the next frame.

        Args:
            lightness: ``1 x H x W`` normalised L' of the frame.
            exemplar: the segment's exemplar, on the first step only.
            end: this is the run's last frame (nothing to release: accepted for the interface).

        Returns:
            ``2 x H x W`` float32 normalised chroma, on the CPU.

        Raises:
            InferenceError: the first step has no exemplar, or a frame's size changes within the run.
        """
        full = lightness.detach().to("cpu", torch.float32)[0].numpy() * L_SCALE + L_CENTER  # H x W, L*
        if exemplar is not None:
            ab = self._start(full, exemplar)
        elif not self._started:
            raise InferenceError("The first frame of a segment run needs its exemplar.")
        else:
            if full.shape != self._full_shape:
                raise InferenceError("All frames of a segment run must have one size.")
            ab = self._advance(full)
        return torch.from_numpy(np.ascontiguousarray(ab, dtype=np.float32))

    # -- the anchor -------------------------------------------------------------------------------------------------

    def _start(self, full: np.ndarray, exemplar: ExemplarInput) -> np.ndarray:
        cfg = self.config
        height, width = full.shape
        lab = exemplar.lab.detach().to("cpu", torch.float32).numpy()
        if lab.shape[-2:] != (height, width):
            raise InferenceError("The exemplar must come at the frame's processing size.")
        h, w = work_shape(height, width, cfg.work_size)
        light_work = _resize(full, h, w)
        if exemplar.mode == "keyframe":
            out = lab[1:].copy()  # the keyframe's own frame is the exemplar's chroma
            ab_work = _resize(lab[1:], h, w)
        else:
            image = exemplar.image if exemplar.image is not None else None
            ab_work = align_reference(light_work, lab, image, cfg)
            out = guided_upsample(full / 100.0, light_work / 100.0, ab_work, cfg.guide_radius, cfg.guide_eps)
        self._full_shape = (height, width)
        self._work_shape = (h, w)
        self._anchor_light = light_work
        self._anchor_ab = ab_work
        self._anchor_full_ab = np.ascontiguousarray(out.transpose(1, 2, 0), dtype=np.float32)  # H x W x 2
        self._anchor_mean = float(light_work.mean())
        self._anchor_std = float(light_work.std())
        self._anchor_flat = self._flatness(ab_work)
        self._anchor_image = to_flow_image(light_work)
        self._chain = base_grid(h, w).copy()  # h x w x 2: position of each pixel in the anchor frame
        self._trust = np.ones((h, w), dtype=np.float32)
        self._prev_light = light_work
        self._prev_ab = ab_work
        self._prev_image = to_flow_image(light_work)
        self._matcher = ExemplarMatcher(light_work, ab_work, samples=cfg.match_samples,
                                        neighbours=cfg.match_neighbours, position_weight=cfg.match_position_weight)
        self._started = True
        return out

    # -- the following frames ---------------------------------------------------------------------------------------

    def _advance(self, full: np.ndarray) -> np.ndarray:
        cfg = self.config
        h, w = self._work_shape
        light = _resize(full, h, w)
        prev_mean, prev_std = float(self._prev_light.mean()), float(self._prev_light.std())
        image = to_flow_image(light, prev_mean, prev_std)
        back = self._flow.estimate(image, self._prev_image)  # this frame -> previous
        fwd = self._check_flow.estimate(self._prev_image, image)  # previous -> this frame
        consistent = consistency_mask(back, fwd, cfg.consistency_alpha, cfg.consistency_beta).astype(np.float32)
        target = base_grid(h, w) + back

        # the chain into the anchor, and the previous frame's chroma, brought onto this frame
        chain = sample(np.ascontiguousarray(self._chain.transpose(2, 0, 1)), target).transpose(1, 2, 0)
        trust = sample(self._trust, target)
        anchor_ab = sample(self._anchor_ab, chain)
        anchor_light = sample(self._anchor_light, chain)
        prev_ab = sample(self._prev_ab, target)
        prev_light = sample(self._prev_light, target)

        to_anchor = match_statistics(light, self._anchor_mean, self._anchor_std)
        to_prev = match_statistics(light, prev_mean, prev_std)
        agree_anchor = self._agreement(to_anchor, anchor_light)

        # re-anchoring: refine the chain by a flow straight to the anchor frame; keep whichever agrees better
        grid = base_grid(h, w)
        direct = grid + self._check_flow.estimate(to_flow_image(to_anchor), self._anchor_image, chain - grid)
        direct_light = sample(self._anchor_light, direct)
        agree_direct = self._agreement(to_anchor, direct_light)
        # only a confident match on textured luminance may re-anchor: flat areas agree with anything
        better = ((agree_direct > agree_anchor + cfg.reanchor_margin) & (agree_direct > cfg.reanchor_min)
                  & (self._texture(to_anchor) > cfg.reanchor_texture))
        chain = np.where(better[..., None], direct, chain)
        anchor_ab = np.where(better[None], sample(self._anchor_ab, direct), anchor_ab)
        agree_anchor = np.where(better, agree_direct, agree_anchor)
        trust = np.where(better, np.maximum(trust, agree_direct), trust)
        agree_prev = self._agreement(to_prev, prev_light)
        # a failed flow does no harm where the chroma around the landing point is flat
        safe_anchor = np.maximum(consistent, sample(self._anchor_flat, chain))
        safe_prev = np.maximum(consistent, sample(self._flatness(self._prev_ab), target))
        trust = safe_anchor * (cfg.trust_memory * trust + (1.0 - cfg.trust_memory) * agree_anchor)
        w_anchor = trust * agree_anchor
        # a floor keeps the warped previous chroma as the last resort, so no pixel drifts to gray
        w_prev = (cfg.inconsistent_weight + (1.0 - cfg.inconsistent_weight) * safe_prev) * agree_prev + 1e-3

        w_anchor = cfg.anchor_gain * w_anchor
        num = w_prev * prev_ab
        den = w_prev
        weak = w_anchor + den < cfg.fallback_below
        if weak.mean() > cfg.fallback_area:  # a cut, a flash, a large disocclusion: not a few stray pixels
            match_ab, _ = self._matcher.match(light, weak)
            w_match = cfg.fallback_weight * weak
            num = num + w_match * match_ab
            den = den + w_match
        share = w_anchor / np.maximum(w_anchor + den, 1e-6)  # the part of each pixel read from the exemplar
        carried = num / np.maximum(den, 1e-6)
        ab_work = share * anchor_ab + (1.0 - share) * carried

        self._chain = chain
        self._trust = trust
        self._prev_light = light
        self._prev_ab = ab_work
        self._prev_image = image
        self._stats = (float(w_anchor.mean()), float(w_prev.mean()), float(weak.mean()), float(consistent.mean()))
        return self._compose(chain, share, carried, light)

    def _compose(self, chain: np.ndarray, share: np.ndarray, carried: np.ndarray, light: np.ndarray) -> np.ndarray:
        """Full-size chroma: the exemplar read at full resolution through the chain, blended with the rest.

        Reading the exemplar at its own resolution (the chain's coordinates are smooth, so they upsample well)
        keeps the anchor's fine chroma detail that a working-grid result would lose.
        """
        cfg = self.config
        height, width = self._full_shape
        h, w = self._work_shape
        refined = guided_filter(light / 100.0, carried, cfg.guide_radius, cfg.guide_eps).transpose(1, 2, 0)
        if (h, w) == (height, width):
            chain_full, share_full, carried_full = chain, share, refined
        else:
            scale = np.array([width / w, height / h], dtype=np.float32)
            chain_full = (cv2.resize(chain, (width, height), interpolation=cv2.INTER_LINEAR) + 0.5) * scale - 0.5
            share_full = cv2.resize(share, (width, height), interpolation=cv2.INTER_LINEAR)
            carried_full = cv2.resize(refined, (width, height), interpolation=cv2.INTER_LINEAR)
        read = cv2.remap(  # x and y as two float maps: what one two-channel map means, and typed in every stub
            self._anchor_full_ab,
            np.ascontiguousarray(chain_full[..., 0]),
            np.ascontiguousarray(chain_full[..., 1]),
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        out = carried_full + share_full[..., None] * (read - carried_full)  # H x W x 2
        return out.transpose(2, 0, 1)

    def _texture(self, light: np.ndarray) -> np.ndarray:
        """Local standard deviation of the luminance (L* units) over a Gaussian window of sigma 3."""
        mean = cv2.GaussianBlur(light, (0, 0), 3.0)
        return np.sqrt(np.maximum(cv2.GaussianBlur(light * light, (0, 0), 3.0) - mean * mean, 0.0))

    def _flatness(self, ab: np.ndarray) -> np.ndarray:
        """1 where the chroma is uniform within ``flat_radius`` pixels, falling to 0 as it varies."""
        cfg = self.config
        size = (2 * cfg.flat_radius + 1, 2 * cfg.flat_radius + 1)
        var = sum(cv2.blur(p * p, size) - cv2.blur(p, size) ** 2 for p in ab)
        return np.exp(-np.maximum(var, 0.0) / cfg.flat_chroma**2)

    def _agreement(self, light: np.ndarray, predicted: np.ndarray) -> np.ndarray:
        """How well a carried luminance agrees with the frame's, in [0, 1].

        Detail (the plane minus its local mean) must agree closely, smoothed over 3x3 against grain; the local mean
        only loosely, so local lighting changes and flicker do not count as a mismatch.
        """
        cfg = self.config
        base = cv2.GaussianBlur(light, (0, 0), cfg.base_sigma)
        base_pred = cv2.GaussianBlur(predicted, (0, 0), cfg.base_sigma)
        detail = cv2.blur(((light - base) - (predicted - base_pred)) ** 2, (3, 3))
        return np.exp(-detail / cfg.luma_sigma**2 - (base - base_pred) ** 2 / cfg.base_tolerance**2)
