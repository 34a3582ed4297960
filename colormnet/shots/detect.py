"""``detect_shots``: one pass over a video's luminance, through the detectors chosen, to a shot list.

Frames come from :class:`~colormnet.video.VideoReader` in order as their luminance at a small working size (at most
:data:`WORK_SIZE` pixels on the long side): for a video file the decoder's luma plane, scaled down, with no RGB
made (:meth:`~colormnet.video.VideoReader.read_luma`). Memory stays bounded whatever the video's length: the
detectors keep only a few frames, their scores, and one mean level per frame.

Detectors (``detector=``):

* ``scenedetect``: PySceneDetect's AdaptiveDetector (hard cuts) and ThresholdDetector (fades through black or
  white), see :mod:`colormnet.shots.classic`. Fast; finds no dissolve.
* ``transnetv2``: the learned TransNetV2 (:mod:`colormnet.shots.learned`): cuts, dissolves and fades; needs torch.
* ``combined``: the cuts and fades of ``scenedetect`` plus the gradual transitions TransNetV2 finds where
  ``scenedetect`` found nothing. Both run on the same pass; TransNetV2 scores only the windows near a frame that is
  a blend of its neighbours (:mod:`colormnet.shots.gate`), which keeps the pass at the speed of ``scenedetect`` on
  footage without such stretches.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from colormnet.errors import ColorMNetError
from colormnet.shots.model import Boundary, DetectionCancelledError, Shot, shots_from_boundaries
from colormnet.video import VideoReader

#: The detectors by name; the first is the default.
DETECTORS = ("combined", "scenedetect", "transnetv2")
DEFAULT_DETECTOR = DETECTORS[0]
#: Longest side of the luminance the detectors see, in pixels.
WORK_SIZE = 256
#: Frames within which two detectors' boundaries are the same boundary.
SAME_BOUNDARY = 2

ProgressCallback = Callable[[int, int], None]


class _Consumer(Protocol):
    def push(self, index: int, gray: np.ndarray) -> None: ...

    def finish(self) -> list[Boundary]: ...


def work_size(width: int, height: int) -> tuple[int, int] | None:
    """The working size for a ``width x height`` video (None: the video is small enough as it is)."""
    scale = WORK_SIZE / max(width, height)
    if scale >= 1:
        return None
    return max(1, round(width * scale)), max(1, round(height * scale))


def merge_boundaries(cuts: list[Boundary], gradual: list[Boundary]) -> list[Boundary]:
    """``cuts`` plus those of ``gradual`` that are dissolves or fades lying clear of every boundary in ``cuts``.

    Two boundaries are the same when their frame ranges (a transition, or the boundary frame alone), widened by
    :data:`SAME_BOUNDARY` frames, overlap.
    """

    def span(b: Boundary) -> tuple[int, int]:
        low, high = b.transition or (b.frame, b.frame + 1)
        return low - SAME_BOUNDARY, high + SAME_BOUNDARY

    merged = list(cuts)
    for b in gradual:
        if b.kind not in ("dissolve", "fade"):
            continue
        low, high = span(b)
        if all(span(c)[1] <= low or high <= span(c)[0] for c in cuts):
            merged.append(b)
    return sorted(merged, key=lambda b: b.frame)


def _consumers(detector: str, fps: Any, threshold: float | None) -> list[_Consumer]:
    from colormnet.shots.classic import ClassicDetector

    if detector == "scenedetect":
        return [ClassicDetector(fps, threshold=threshold)]
    from colormnet.shots.learned import LearnedDetector

    if detector == "transnetv2":
        return [LearnedDetector(threshold=threshold)]
    return [ClassicDetector(fps), LearnedDetector(threshold=threshold, gated=True)]


def check_detector(detector: str, threshold: float | None) -> None:
    """Refuses an unknown detector or a threshold it cannot use (before a cached list could answer for it).

    Raises:
        ColorMNetError: One sentence saying what to give instead.
    """
    if detector not in DETECTORS:
        raise ColorMNetError(f"Unknown shot detector {detector!r}; choose one of {', '.join(DETECTORS)}.")
    if threshold is not None and not (np.isfinite(threshold) and threshold > 0):
        raise ColorMNetError(f"The detection threshold must be a positive number, not {threshold}.")
    if threshold is not None and detector != "scenedetect" and threshold >= 1:
        raise ColorMNetError(f"The {detector} detector's threshold is a probability, below 1 (default 0.5), not "
                             f"{threshold}; a ratio such as 3 is scenedetect's.")


def detect_shots(
    video: str | Path | VideoReader,
    *,
    detector: str = DEFAULT_DETECTOR,
    threshold: float | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> list[Shot]:
    """Finds the shots of a video in one streaming pass over its luminance.

    Args:
        video: A path (video file or image folder) or an open reader (read from frame 0; not closed here).
        detector: One of :data:`DETECTORS`.
        threshold: The detector's sensitivity: AdaptiveDetector's ratio for ``scenedetect`` (default 3; higher finds
            fewer cuts), TransNetV2's probability for ``transnetv2`` and the gradual part of ``combined``
            (default 0.5).
        progress: Called as ``progress(frames_done, frame_count)`` now and then.
        cancel: Set from another thread to stop; :class:`DetectionCancelledError` is raised then.

    Returns:
        The shots, covering the whole video.

    Raises:
        ColorMNetError: An unknown detector, a bad threshold, or a video that cannot be read.
        DetectionCancelledError: ``cancel`` was set.
    """
    check_detector(detector, threshold)
    reader = video if isinstance(video, VideoReader) else VideoReader(video)
    try:
        info = reader.info
        consumers = _consumers(detector, info.fps, threshold)
        size = work_size(info.width, info.height)
        total = info.frame_count
        for index, gray in reader.luma_frames(size):
            if cancel is not None and cancel.is_set():
                raise DetectionCancelledError("Shot detection was cancelled.")
            for consumer in consumers:
                consumer.push(index, gray)
            if progress is not None and (index % 64 == 63 or index + 1 == total):
                progress(index + 1, total)
        found = [consumer.finish() for consumer in consumers]
    finally:
        if reader is not video:
            reader.close()
    boundaries = found[0] if len(found) == 1 else merge_boundaries(found[0], found[1])
    return shots_from_boundaries(boundaries, total)
