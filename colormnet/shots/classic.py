"""Hard cuts and fades with PySceneDetect's detectors, fed frame by frame from our own reader.

* Hard cuts: :class:`scenedetect.detectors.AdaptiveDetector` on the luminance (``luma_only``): a frame whose
  difference from the previous one stands out from its neighbours' (a rolling ratio, so camera motion and the grain
  of old film do not count). A cut is then dropped when the picture comes back within :data:`FLASH_FRAMES` frames
  (the frame before it reappears after it, or the frame after it was already there before): that is a flash, a
  scratch or a frame or two of damage, not a new shot. A cut is also dropped when motion and a change of brightness
  explain it: the frame before it, warped onto it by dense optical flow (OpenCV's DIS) and brought to its mean and
  contrast, differs from it by less than :data:`MIN_RESIDUAL` (a sudden movement, the flicker of old film).
* Fades through black or white: two :class:`scenedetect.detectors.ThresholdDetector` (floor and ceiling on the
  mean level); the boundary is the middle of the dark (or white) stretch, and the transition reaches out over the
  ramps on either side, read from the per-frame mean level. A stretch of at most :data:`FLASH_FRAMES` frames after
  which the picture before it comes back is a flash, not a fade.

PySceneDetect has no dissolve detector; the learned detector (:mod:`colormnet.shots.learned`) finds those.
"""

from __future__ import annotations

from collections import deque
from fractions import Fraction

import cv2
import numpy as np
from scenedetect.common import FrameTimecode
from scenedetect.detectors import AdaptiveDetector, ThresholdDetector

from colormnet.shots.model import Boundary

#: Default ``adaptive_threshold`` of PySceneDetect's AdaptiveDetector: how many times a frame's difference must
#: exceed its neighbours' average.
DEFAULT_RATIO = 3.0
#: Shortest shot a hard cut may open, in frames.
MIN_SHOT = 6
#: A picture that comes back within this many frames was a flash, not a cut.
FLASH_FRAMES = 5
#: A transient is recognised when the picture that comes back differs from the one before the jump by less than this
#: fraction of the jump itself.
FLASH_RETURN = 0.5
#: Long side of the frames the motion test compares, in pixels.
MOTION_SIZE = 128
_DIS_SIDE = 32  # the shortest side the motion test gives DIS
#: Least difference left between the frames on either side of a cut once motion, brightness and contrast are
#: compensated, in levels where the picture's contrast (standard deviation) is 50. The cuts of the tuning montage
#: leave 17 to 50; fast motion (the cockatoo, frame 134) leaves 4, a flicker of the 1906 film (frame 231) 9.
MIN_RESIDUAL = 12.0
#: Mean 8-bit level under which (or over 255 minus which) a frame counts as black (white) for fades.
FADE_LEVEL = 12
#: Longest ramp of a fade on each side of its dark stretch, in seconds.
FADE_RAMP_SECONDS = 2.0


def _normalised(gray: np.ndarray) -> np.ndarray:
    values = gray.astype(np.float32)
    return (values - values.mean()) * (50.0 / (float(values.std()) + 1e-3))


def motion_residual(before: np.ndarray, after: np.ndarray, flow: cv2.DISOpticalFlow) -> float:
    """Mean difference between ``after`` and ``before`` warped onto it, brightness and contrast normalised."""
    height, width = before.shape
    scale = min(1.0, MOTION_SIZE / max(height, width))
    # OpenCV's DIS crashes (a segmentation fault) on a short side under ~32 pixels when the long one is 128: a thin
    # frame (320x24) is stretched to it, which changes none of the residual's comparisons
    size = (max(_DIS_SIDE, round(width * scale)), max(_DIS_SIDE, round(height * scale)))
    a = cv2.resize(before, size, interpolation=cv2.INTER_AREA)
    b = cv2.resize(after, size, interpolation=cv2.INTER_AREA)
    field = np.asarray(flow.calc(b, a, None))  # type: ignore[call-overload]  # b pixel -> where it was in a
    grid_x, grid_y = np.meshgrid(np.arange(size[0], dtype=np.float32), np.arange(size[1], dtype=np.float32))
    warped = cv2.remap(a, grid_x + field[..., 0], grid_y + field[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    margin = 4  # the border, where the flow has nothing to match
    return float(np.abs(_normalised(warped) - _normalised(b))[margin:-margin, margin:-margin].mean())


def _extreme(level: float) -> bool:
    return level < FADE_LEVEL or level >= 255 - FADE_LEVEL


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(cv2.norm(a, b, cv2.NORM_L1)) / a.size


class ClassicDetector:
    """Consumes small gray frames in order and returns the hard cuts and fades it found.

    Args:
        fps: Frame rate (for PySceneDetect's timecodes and the fade ramps' length).
        threshold: AdaptiveDetector's ratio (default :data:`DEFAULT_RATIO`); higher finds fewer cuts.
    """

    def __init__(self, fps: Fraction, *, threshold: float | None = None) -> None:
        self.fps = fps
        self._adaptive = AdaptiveDetector(adaptive_threshold=DEFAULT_RATIO if threshold is None else threshold,
                                          min_scene_len=MIN_SHOT, luma_only=True)
        self._fades = [ThresholdDetector(threshold=FADE_LEVEL, min_scene_len=MIN_SHOT),
                       ThresholdDetector(threshold=255 - FADE_LEVEL, min_scene_len=MIN_SHOT,
                                         method=ThresholdDetector.Method.CEILING)]
        # Frames kept for the flash test: from FLASH_FRAMES + 1 before a cut to FLASH_FRAMES after it, plus the
        # frames AdaptiveDetector reports late by.
        self._recent: deque[tuple[int, np.ndarray]] = deque(maxlen=2 * FLASH_FRAMES + 4 + 2 * 2)
        self._pending: list[int] = []
        self._cuts: list[int] = []
        self._fade_frames: list[int] = []
        self.levels: list[float] = []  # mean level of every frame, for the fade ramps (8 bytes a frame)
        self._last: FrameTimecode | None = None
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)  # type: ignore[attr-defined]

    def push(self, index: int, gray: np.ndarray) -> None:
        """Takes frame ``index`` (HxW uint8 luminance, frames in order from 0)."""
        timecode = FrameTimecode(index, fps=self.fps)
        self._last = timecode
        self.levels.append(float(gray.mean()))
        self._recent.append((index, gray))
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)  # the detectors expect 3 channels
        self._pending.extend(c.frame_num for c in self._adaptive.process_frame(timecode, bgr))
        for detector in self._fades:
            found = detector.process_frame(timecode, gray)
            if found and not self._is_flash(index):
                self._fade_frames.extend(c.frame_num for c in found)
        self._settle(index)

    def _settle(self, newest: int, *, final: bool = False) -> None:
        """Decides the pending cuts whose following frames have all arrived."""
        keep = []
        for cut in self._pending:
            if final or newest >= cut + FLASH_FRAMES:
                if not self._is_transient(cut) and not self._is_motion(cut):
                    self._cuts.append(cut)
            else:
                keep.append(cut)
        self._pending = keep

    def _is_flash(self, back: int) -> bool:
        """Whether the black or white stretch that frame ``back`` leaves was a flash: at most :data:`FLASH_FRAMES`
        frames long, with the picture before it back again after it."""
        start = back
        while start > 0 and back - start <= FLASH_FRAMES and _extreme(self.levels[start - 1]):
            start -= 1
        frames = dict(self._recent)
        if back - start > FLASH_FRAMES or start - 1 not in frames or start not in frames:
            return False
        before = frames[start - 1]
        return _difference(before, frames[back]) < FLASH_RETURN * _difference(before, frames[start])

    def _is_motion(self, cut: int) -> bool:
        """Whether motion and a change of brightness explain the jump at ``cut``."""
        frames = dict(self._recent)
        if cut - 1 not in frames or cut not in frames:
            return False
        return motion_residual(frames[cut - 1], frames[cut], self._flow) < MIN_RESIDUAL

    def _is_transient(self, cut: int) -> bool:
        """Whether the picture before ``cut`` comes back soon after it, or the one after it was there just before."""
        frames = dict(self._recent)
        if cut - 1 not in frames or cut not in frames:
            return False
        before, after = frames[cut - 1], frames[cut]
        jump = _difference(before, after)
        for k in range(1, FLASH_FRAMES + 1):
            later, earlier = frames.get(cut + k), frames.get(cut - 1 - k)
            if later is not None and _difference(before, later) < FLASH_RETURN * jump:
                return True
            if earlier is not None and _difference(earlier, after) < FLASH_RETURN * jump:
                return True
        return False

    def finish(self) -> list[Boundary]:
        """Returns the boundaries found, in frame order."""
        if self._last is not None:
            self._settle(self._last.frame_num, final=True)
            for detector in self._fades:
                self._fade_frames.extend(c.frame_num for c in detector.post_process(self._last))
        fades = [self._fade(frame) for frame in sorted(set(self._fade_frames))]
        covered = {f for b in fades if b.transition for f in range(*b.transition)}
        cuts = [Boundary(c, "cut") for c in self._cuts if c not in covered]
        return sorted(fades + cuts, key=lambda b: b.frame)

    def _fade(self, frame: int) -> Boundary:
        """The fade around ``frame``: its dark (or white) stretch widened over the ramps on both sides."""
        levels = np.asarray(self.levels)
        extreme = levels[frame] < 128 if 0 <= frame < len(levels) else True
        outside = (levels >= FADE_LEVEL) if extreme else (levels < 255 - FADE_LEVEL)
        ramp = max(1, round(FADE_RAMP_SECONDS * float(self.fps)))
        sign = 1.0 if extreme else -1.0  # levels rise away from black, fall away from white
        low = frame
        while low > 0 and not outside[low - 1]:
            low -= 1
        start = low
        while start > max(0, low - ramp) and sign * (levels[start - 1] - levels[start]) > 0.5:
            start -= 1
        high = frame
        while high < len(levels) and not outside[high]:
            high += 1
        stop = high
        while stop < min(len(levels), high + ramp) and sign * (levels[stop] - levels[stop - 1]) > 0.5:
            stop += 1
        return Boundary(frame, "fade", (start, max(stop, frame + 1)))
