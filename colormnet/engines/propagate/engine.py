"""The propagation engine: carries the exemplar's chroma through one segment run with optical flow.

The anchor frame's chroma is the exemplar's (a keyframe), or for a reference photo the result of a global
correspondence step (:mod:`~.reference`). Then, for each following frame on a small working grid:

1. Luminance flicker is normalised (global mean and spread matched to the previous frame) before the flow.
2. DIS flow is computed both ways between this frame and the previous one; the forward-backward test marks
   occlusions, disocclusions and flow failures. After a fast step (a whip pan, a shaken camera) the carrying flow
   starts from that step's flow: on the small working grid DIS's pyramid alone does not reach such motions.
3. Each pixel keeps a *chain*: its position in the anchor frame, composed through the consistent flows. Chroma read
   there from the exemplar is not resampled frame after frame, so it neither blurs nor loses saturation (this is
   the re-anchoring: wherever the chain holds and the luminance still agrees, the colour comes from the exemplar;
   less so where the chain magnifies the exemplar, as in a zoom-in, and the longer the path it has been carried
   since it last matched the anchor directly, as the flows' errors add up along it).
4. The previous frame's chroma, warped, covers pixels whose chain broke but whose last motion step is consistent.
5. Where neither agrees with the frame's luminance (disocclusions, cuts, scratches), the chroma of the exemplar
   pixels with the most similar luminance texture fills in (:mod:`colormnet.engines.propagate.matching`).
6. The weights from the working grid blend two reads at the processing size: the exemplar through the upsampled
   chain, and the previous frame's full-size chroma through the upsampled flow, which a guided filter on the
   frame's luminance keeps on the luminance edges every frame instead of letting it bleed across them.

Working-grid planes are ``h x w``, the processing size ``H x W``; two-channel data is kept as separate contiguous
planes, and up to four planes are interleaved only to be read through one remap. L planes are L* in [0, 100];
chroma planes normalised a', b'. Everything is NumPy and OpenCV: the frame's L* comes in as decoded (area-averaged
to the processing size), the exemplar as its RGB, and the chroma and confidence go out bilinearly resized to the
size asked for.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor

import cv2
import numpy as np

from colormnet.engines.base import ExemplarInput, StepResult, process_shape
from colormnet.engines.propagate.config import PropagateConfig
from colormnet.engines.propagate.flow import (
    FlowEstimator,
    base_grid,
    consistency_mask,
    exposure_gain,
    sample_xy,
    to_flow_image,
)
from colormnet.engines.propagate.guided_filter import guided_filter_planes, guided_upsample
from colormnet.engines.propagate.matching import ExemplarMatcher
from colormnet.engines.propagate.reference import align_reference
from colormnet.errors import InferenceError

logger = logging.getLogger(__name__)

__all__ = ["PropagationEngine"]


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
        self._flow = FlowEstimator(self.config.flow_preset, self.config.flow_patch_stride)
        self._check_flow = FlowEstimator(self.config.check_preset)
        self._started = False

    def step(self, lightness: np.ndarray, exemplar: ExemplarInput | None = None, *, end: bool = False,
             work_size: tuple[int, int] | None = None, size: tuple[int, int] | None = None) -> StepResult:
        """Colorizes the next frame (see :meth:`colormnet.engines.base.SegmentEngine.step`).

        Args:
            lightness: ``H x W`` L* of the frame.
            exemplar: the segment's exemplar, on the first step only.
            end: this is the run's last frame (nothing to release: accepted for the interface).
            work_size: the processing size (None: the frame's).
            size: the size of the chroma and confidence returned (None: the frame's).

        Returns:
            The chroma, and how surely each pixel traces back to the exemplar.

        Raises:
            InferenceError: the first step has no exemplar, or the processing size changes within the run.
        """
        out_hw = size or (lightness.shape[0], lightness.shape[1])
        height, width = work_size or (lightness.shape[0], lightness.shape[1])
        full = _resize(np.asarray(lightness, dtype=np.float32), height, width)  # H x W, L*
        if exemplar is not None:
            self._size = (height, width)
            lab = _pad_small(exemplar.lab(height, width))
            ab = self._start(_pad_small(full), lab, exemplar)
        elif not self._started:
            raise InferenceError("The first frame of a segment run needs its exemplar.")
        else:
            if (height, width) != self._size:
                raise InferenceError("All frames of a segment run must have one size.")
            ab = self._advance(_pad_small(full))
        # how surely each pixel traces back to the exemplar (see _advance), H x W in [0, 1]
        confidence = _resize_linear(np.ascontiguousarray(self._upsample(self._conf)[:height, :width]), out_hw)
        if exemplar is not None and exemplar.mode == "keyframe":  # the exemplar's own chroma, at the size asked
            return StepResult(exemplar.lab(*out_hw)[1:], confidence)
        planes = np.ascontiguousarray(ab[:, :height, :width], dtype=np.float32)
        return StepResult(_resize_linear(planes, out_hw), confidence)

    # -- the anchor -------------------------------------------------------------------------------------------------

    def _start(self, full: np.ndarray, lab: np.ndarray, exemplar: ExemplarInput) -> np.ndarray:
        """The anchor frame: ``full`` L* and the exemplar's ``lab`` (``3 x H x W``), both at the processing size."""
        cfg = self.config
        height, width = full.shape
        h, w = process_shape(height, width, cfg.work_size)  # the working grid
        light_work = _resize(full, h, w)
        if exemplar.mode == "keyframe":
            out = lab[1:].copy()  # the keyframe's own frame is the exemplar's chroma
            ab_work = _resize(lab[1:], h, w)
        else:
            ab_work = align_reference(light_work, lab, exemplar.image, cfg)
            out = guided_upsample(full / 100.0, light_work / 100.0, ab_work, cfg.guide_radius, cfg.guide_eps)
        ab_planes = [np.ascontiguousarray(p, dtype=np.float32) for p in ab_work]
        base = self._base(light_work)
        grid = base_grid(h, w)
        self._full_shape = (height, width)
        self._work_shape = (h, w)
        self._grid_x = np.ascontiguousarray(grid[..., 0])
        self._grid_y = np.ascontiguousarray(grid[..., 1])
        self._anchor_full_ab = np.ascontiguousarray(out.transpose(1, 2, 0), dtype=np.float32)  # H x W x 2
        self._anchor_mean = float(light_work.mean())
        self._anchor_std = float(light_work.std())
        self._anchor_image = to_flow_image(light_work)
        # what is read from the anchor through a chain: its chroma, luminance and the luminance's local mean
        self._anchor_pack = cv2.merge([*ab_planes, light_work, base])
        self._anchor_flat = self._flatness(ab_planes)
        # what each pixel carries to the next frame: its chain into the anchor (x, y), its trust, and whether the
        # chroma around it is flat
        self._carry = cv2.merge([self._grid_x, self._grid_y, np.ones((h, w), np.float32), self._anchor_flat])
        self._prev_pack = self._anchor_pack
        self._prev_stats = (self._anchor_mean, self._anchor_std)
        self._prev_image = self._anchor_image
        self._prev_full_ab = self._anchor_full_ab
        self._travel = np.zeros((h, w), np.float32)  # each chain's path length since its last direct anchor match
        self._conf = np.ones((h, w), np.float32)  # how surely each pixel's chroma traces back to the exemplar
        self._last_flow: np.ndarray | None = None  # the last carrying flow, where that step was fast
        self._matcher = ExemplarMatcher(light_work, ab_work, samples=cfg.match_samples,
                                        neighbours=cfg.match_neighbours, position_weight=cfg.match_position_weight)
        self._started = True
        return out

    # -- the following frames ---------------------------------------------------------------------------------------

    def _advance(self, full: np.ndarray) -> np.ndarray:
        cfg = self.config
        h, w = self._work_shape
        light = _resize(full, h, w)
        mean, std = float(light.mean()), float(light.std())
        prev_mean, prev_std = self._prev_stats
        image = to_flow_image(light, prev_mean, prev_std)
        back = self._flow.estimate(image, self._prev_image, self._last_flow)  # this frame -> previous
        fwd = self._check_flow.estimate(self._prev_image, image)  # previous -> this frame
        consistent = consistency_mask(back, fwd, cfg.consistency_alpha, cfg.consistency_beta).astype(np.float32)
        back_x, back_y = _split(back)
        step = np.sqrt(back_x * back_x + back_y * back_y)
        self._last_flow = back if float(np.percentile(step[::4, ::4], 90)) > cfg.fast_motion else None
        tx, ty = self._grid_x + back_x, self._grid_y + back_y
        # the previous frame's full-size chroma needs only this flow: it is warped and guided on the second core
        # while this one works out the weights on the working grid
        carried_full = _background().submit(self._carry_full, full, tx, ty)

        # the chains and the previous frame, brought onto this frame; the exemplar read through the chains
        # (every plane separate from here on: numpy is several times faster on contiguous planes)
        chain_x, chain_y, trust, prev_flat = _split(sample_xy(self._carry, tx, ty))
        travel = sample_xy(self._travel, tx, ty) + step
        prev = _split(sample_xy(self._prev_pack, tx, ty))  # a', b', L*, local mean
        anchor = self._rebase(_split(sample_xy(self._anchor_pack, chain_x, chain_y)))

        # the frame's luminance split into its local mean and detail, brought to the anchor's and previous
        # frame's exposure (an affine change: the split follows it)
        base = self._base(light)
        detail = light - base
        gain_anchor, gain_prev = exposure_gain(std, self._anchor_std), exposure_gain(std, prev_std)
        anchor_detail = detail * np.float32(gain_anchor)
        anchor_base = (base - np.float32(mean)) * np.float32(gain_anchor) + np.float32(self._anchor_mean)
        agree_anchor = self._agreement(anchor_detail, anchor_base, anchor)

        # re-anchoring: refine the chain by a flow straight to the anchor frame; keep whichever agrees better
        to_anchor = to_flow_image(light, self._anchor_mean, self._anchor_std)
        guess = cv2.merge([chain_x - self._grid_x, chain_y - self._grid_y])
        direct_x, direct_y = _split(self._check_flow.estimate(to_anchor, self._anchor_image, guess))
        direct_x += self._grid_x
        direct_y += self._grid_y
        direct = self._rebase(_split(sample_xy(self._anchor_pack, direct_x, direct_y)))
        agree_direct = self._agreement(anchor_detail, anchor_base, direct)
        # only a confident match on textured luminance may re-anchor: flat areas agree with anything
        texture = np.sqrt(np.maximum(self._base(light * light) - base * base, 0.0)) * np.float32(gain_anchor)
        better = ((agree_direct > agree_anchor + cfg.reanchor_margin) & (agree_direct > cfg.reanchor_min)
                  & (texture > cfg.reanchor_texture))
        chain_x = np.where(better, direct_x, chain_x)
        chain_y = np.where(better, direct_y, chain_y)
        anchor_ab = [np.where(better, d, a) for d, a in zip(direct[:2], anchor[:2], strict=True)]
        agree_anchor = np.where(better, agree_direct, agree_anchor)
        trust = np.where(better, np.maximum(trust, agree_direct), trust)
        travel = np.where(better, np.float32(0.0), travel)
        prev_base = (base - np.float32(mean)) * np.float32(gain_prev) + np.float32(prev_mean)
        agree_prev = self._agreement(detail * np.float32(gain_prev), prev_base, prev)

        # a failed flow does no harm where the chroma around the landing point is flat
        safe_anchor = np.maximum(consistent, sample_xy(self._anchor_flat, chain_x, chain_y))
        safe_prev = np.maximum(consistent, prev_flat)
        trust = safe_anchor * (cfg.trust_memory * trust + (1.0 - cfg.trust_memory) * agree_anchor)
        w_anchor = cfg.anchor_gain * trust * agree_anchor * self._magnification_weight(chain_x, chain_y)
        w_anchor = w_anchor / (1.0 + (travel * np.float32(1.0 / cfg.chain_travel)) ** 2)
        # a floor keeps the warped previous chroma as the last resort, so no pixel drifts to gray
        w_prev = (cfg.inconsistent_weight + (1.0 - cfg.inconsistent_weight) * safe_prev) * agree_prev + 1e-3
        carried = prev[:2]
        den = w_prev
        from_prev = match_ab = None
        weak = w_anchor + w_prev < cfg.fallback_below
        if weak.mean() > cfg.fallback_area:  # a cut, a flash, a large disocclusion: not a few stray pixels
            match_ab = list(self._matcher.match(light, weak)[0])
            w_match = weak.astype(np.float32) * np.float32(cfg.fallback_weight)  # a bool mask times a float: float64
            den = w_prev + w_match
            from_prev = w_prev / den
            carried = [m + from_prev * (c - m) for c, m in zip(carried, match_ab, strict=True)]
        share = w_anchor / np.maximum(w_anchor + den, 1e-6)  # the part of each pixel read from the exemplar
        ab_work = [c + share * (a - c) for c, a in zip(carried, anchor_ab, strict=True)]
        # confidence: the exemplar's read counts with the chain's trust, the carried part with the previous frame's
        # confidence as far as this step held (feature-matched chroma is a guess and counts for nothing)
        held = sample_xy(self._conf, tx, ty) * safe_prev * agree_prev
        self._conf = share * trust + (1.0 - share) * (held if from_prev is None else held * from_prev)

        self._carry = cv2.merge([chain_x, chain_y, trust, self._flatness(ab_work)])
        self._travel = travel
        self._prev_pack = cv2.merge([*ab_work, light, base])
        self._prev_stats = (mean, std)
        self._prev_image = image
        planes = self._compose(carried_full, chain_x, chain_y, share, from_prev, match_ab)
        self._prev_full_ab = np.asarray(cv2.merge(planes), dtype=np.float32)
        return np.stack(planes)

    def _upsample(self, plane: np.ndarray) -> np.ndarray:
        """A working-grid plane resized (bilinear) to the processing size."""
        height, width = self._full_shape
        if plane.shape == (height, width):
            return plane
        return np.asarray(cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR))

    def _to_full(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working-grid positions (two planes) as positions on the processing-size grid, upsampled."""
        height, width = self._full_shape
        h, w = self._work_shape
        sx, sy = np.float32(width / w), np.float32(height / h)
        # pixel centres map onto pixel centres; the affine map goes before the resize, which is linear
        return self._upsample((x + 0.5) * sx - 0.5), self._upsample((y + 0.5) * sy - 0.5)

    def _carry_full(self, full: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> list[np.ndarray]:
        """The previous frame's full-size chroma warped onto this frame and guided by its luminance.

        Guided every frame, the carried chroma keeps its edges on the luminance edges instead of letting them
        drift and bleed.
        """
        cfg = self.config
        prev = _split(sample_xy(self._prev_full_ab, *self._to_full(tx, ty)))
        return guided_filter_planes(full * np.float32(0.01), prev, cfg.guide_radius, cfg.guide_eps)

    def _compose(self, carried_full: Future[list[np.ndarray]], chain_x: np.ndarray, chain_y: np.ndarray,
                 share: np.ndarray, from_prev: np.ndarray | None, match_ab: list[np.ndarray] | None
                 ) -> list[np.ndarray]:
        """The frame's chroma planes at the processing size, blended from two full-size reads.

        The exemplar is read at its own resolution through the chain, and the previous frame's full-size chroma
        through the flow (both coordinate fields are smooth, so they upsample well), so neither path loses the fine
        chroma detail that a working-grid result would.
        """
        read = _split(sample_xy(self._anchor_full_ab, *self._to_full(chain_x, chain_y)))
        prev = carried_full.result()
        if from_prev is not None and match_ab is not None:  # the feature-matched chroma, where it stands in
            keep = self._upsample(from_prev)  # the matches are smooth: the working grid's, upsampled, are enough
            prev = [m + keep * (p - m) for p, m in zip(prev, map(self._upsample, match_ab), strict=True)]
        share = self._upsample(share)
        return [p + share * (r - p) for p, r in zip(prev, read, strict=True)]

    def _magnification_weight(self, chain_x: np.ndarray, chain_y: np.ndarray) -> np.ndarray:
        """How much the exemplar's read may count, from how far the chain magnifies it, in [0, 1].

        The Jacobian determinant of the chain is the area of the anchor behind one pixel of this frame. Where the
        camera has moved in on a subject so that one anchor pixel spreads over more than ``1 / magnify_area``
        pixels, the read is a blurry upsampling of the exemplar with edges that no longer sit on this frame's
        luminance, and the carried chroma (re-guided every frame) is the better estimate: the read's weight falls
        with the square of the area beyond that. Smoothed over a wide window: the chain is noisy pixel to pixel.
        """
        cfg = self.config
        area = (np.gradient(chain_x, axis=1) * np.gradient(chain_y, axis=0)
                - np.gradient(chain_x, axis=0) * np.gradient(chain_y, axis=1))
        area = _wide_blur(area.astype(np.float32), 8.0)
        weight = np.clip(area * np.float32(1.0 / cfg.magnify_area), 0.0, 1.0)
        return weight * weight

    def _base(self, light: np.ndarray) -> np.ndarray:
        """The local mean that separates lighting from detail: a Gaussian of sigma ``base_sigma``."""
        return cv2.GaussianBlur(light, (0, 0), self.config.base_sigma)

    def _rebase(self, carried: list[np.ndarray]) -> list[np.ndarray]:
        """Planes read from the anchor (chroma, L*, local mean) with the local mean taken again on this frame's grid.

        Read through a chain that zooms, the anchor's local mean is a wider or narrower window here; the previous
        frame's (one step of motion) is kept as read.
        """
        return [*carried[:3], self._base(carried[2])]

    def _flatness(self, ab: list[np.ndarray]) -> np.ndarray:
        """1 where the chroma planes are uniform within ``flat_radius`` pixels, falling to 0 as they vary."""
        cfg = self.config
        size = (2 * cfg.flat_radius + 1, 2 * cfg.flat_radius + 1)
        var = np.zeros(ab[0].shape, np.float32)
        for plane in ab:
            mean = cv2.blur(plane, size)
            var += cv2.blur(plane * plane, size) - mean * mean
        return np.exp(np.maximum(var, 0.0) * np.float32(-1.0 / cfg.flat_chroma**2))

    def _agreement(self, detail: np.ndarray, base: np.ndarray, carried: list[np.ndarray]) -> np.ndarray:
        """How well a carried luminance agrees with the frame's, in [0, 1].

        Args:
            detail: the frame's luminance minus its local mean.
            base: the frame's local mean.
            carried: planes read through a flow or chain (a', b', L*, its local mean).

        Detail must agree closely, smoothed over 3x3 against grain; the local mean only loosely, so local lighting
        changes and flicker do not count as a mismatch.
        """
        cfg = self.config
        carried_base = carried[3]
        mismatch = cv2.blur((detail - (carried[2] - carried_base)) ** 2, (3, 3))
        return np.exp(-mismatch / cfg.luma_sigma**2 - (base - carried_base) ** 2 / cfg.base_tolerance**2)


_worker: ThreadPoolExecutor | None = None


def _background() -> ThreadPoolExecutor:
    """The one thread on which every engine's full-size carrying runs (OpenCV and numpy release the interpreter)."""
    global _worker
    if _worker is None:
        _worker = ThreadPoolExecutor(1, thread_name_prefix="propagate")
    return _worker


def _wide_blur(plane: np.ndarray, sigma: float, factor: int = 4) -> np.ndarray:
    """A Gaussian blur of ``sigma`` pixels taken on a grid ``factor`` times coarser, for wide blurs of smooth fields.

    Area-averaging down by ``factor`` and bilinear interpolation back each add about ``factor^2 / 12`` to the
    variance, so the coarse blur's sigma is what is left of ``sigma^2``. A sixteenth of the work for sigma 8.
    """
    height, width = plane.shape
    small_h, small_w = max(1, height // factor), max(1, width // factor)
    if min(small_h, small_w) < 4:
        return np.asarray(cv2.GaussianBlur(plane, (0, 0), sigma))
    small = cv2.resize(plane, (small_w, small_h), interpolation=cv2.INTER_AREA)
    coarse_sigma = np.sqrt(max(sigma * sigma - factor * factor / 6.0, 0.25)) / factor
    small = cv2.GaussianBlur(small, (0, 0), coarse_sigma)
    return np.asarray(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR))


MIN_SIDE = 16  # frames with a shorter side run padded to it: DIS refuses images under 12 pixels, gradients under 2


def _pad_small(planes: np.ndarray) -> np.ndarray:
    """``H x W`` or ``C x H x W`` planes padded (edge repeated, at the bottom and right) to ``MIN_SIDE`` a side."""
    height, width = planes.shape[-2:]
    if height >= MIN_SIDE and width >= MIN_SIDE:
        return planes
    pad = [(0, 0)] * (planes.ndim - 2) + [(0, max(MIN_SIDE - height, 0)), (0, max(MIN_SIDE - width, 0))]
    return np.pad(planes, pad, mode="edge")


def _resize_linear(planes: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``H x W`` or ``C x H x W`` float32 planes resized bilinearly (pixel centres aligned) to ``size``."""
    if planes.shape[-2:] == size:
        return planes
    height, width = size
    if planes.ndim == 2:
        return np.asarray(cv2.resize(planes, (width, height), interpolation=cv2.INTER_LINEAR))
    return np.stack([cv2.resize(p, (width, height), interpolation=cv2.INTER_LINEAR) for p in planes])


def _split(planes: np.ndarray) -> list[np.ndarray]:
    """The channels of an ``h x w x c`` array as contiguous ``h x w`` planes."""
    return [np.asarray(p) for p in cv2.split(planes)]

