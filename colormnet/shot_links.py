"""Which exemplar a shot without one of its own borrows.

Films cut back and forth between a few set-ups (shot / reverse shot), so a shot with no exemplar most likely shows
what another shot of the same set-up shows. The set-up is recognised by the layout of the luminance: a small,
blurred thumbnail of the shot's middle frame, compared by normalised cross-correlation with the thumbnail of each
exemplar's own frame. Moving actors and grain change such a thumbnail little; another set-up changes its whole
layout. Where no exemplar's frame looks alike, the shot borrows from the nearest shot in time that has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from colormnet import color
from colormnet.plan import ShotSpan

#: Correlation of two thumbnails above which two frames are taken to show one set-up. Thumbnails of one camera
#: position stay well above it through action and flicker; different set-ups of one scene fall far below it.
SAME_SETUP = 0.75

#: Thumbnail size (width, height): the layout of a frame, not its detail.
THUMBNAIL = (32, 18)

Source = Literal["own", "linked", "similar", "nearest", "none"]


@dataclass(frozen=True)
class ShotSource:
    """Where a shot's colours come from.

    Attributes:
        shot: index of the shot.
        start, stop: its frames.
        own: indices of its own exemplars.
        borrowed: index of the exemplar it borrows (None when it has its own, or nothing to borrow).
        how: ``own``, ``linked`` (chosen by hand), ``similar`` (the most similar set-up), ``nearest`` (nearest in
            time) or ``none``.
        similarity: the thumbnails' correlation behind ``similar`` (NaN otherwise).
    """

    shot: int
    start: int
    stop: int
    own: tuple[int, ...]
    borrowed: int | None
    how: Source
    similarity: float = float("nan")


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """The layout of a frame: its L* at :data:`THUMBNAIL` size, zero mean and unit norm (float32)."""
    small = cv2.resize(color.luminance(rgb), THUMBNAIL, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0).ravel()
    small = small - small.mean()
    norm = float(np.linalg.norm(small))
    return small / norm if norm > 1e-6 else small


def choose_donors(
    shots: Sequence[ShotSpan],
    exemplar_frames: Sequence[int],
    read: Callable[[int], np.ndarray],
    *,
    links: dict[int, int] | None = None,
) -> list[ShotSource]:
    """Where each shot's colours come from.

    Args:
        shots: the shots, in order.
        exemplar_frames: the exemplars' frames, ascending.
        read: reads a frame of the video (RGB).
        links: a shot's first frame -> the frame of the exemplar it borrows, chosen by hand (ignored where that
            frame holds no exemplar or the shot has its own).
    """
    links = links or {}
    owner = {i: next(s for s, shot in enumerate(shots) if shot.start <= f < shot.stop)
             for i, f in enumerate(exemplar_frames)}
    sources: list[ShotSource] = []
    thumbs: dict[int, np.ndarray] = {}

    def thumb(frame: int) -> np.ndarray:
        if frame not in thumbs:
            thumbs[frame] = thumbnail(read(frame))
        return thumbs[frame]

    for s, shot in enumerate(shots):
        own = tuple(i for i, o in owner.items() if o == s)
        if own:
            sources.append(ShotSource(s, shot.start, shot.stop, own, None, "own"))
            continue
        if not exemplar_frames:
            sources.append(ShotSource(s, shot.start, shot.stop, (), None, "none"))
            continue
        linked = links.get(shot.start)
        if linked is not None and linked in exemplar_frames:
            sources.append(ShotSource(s, shot.start, shot.stop, (), exemplar_frames.index(linked), "linked"))
            continue
        middle = thumb((shot.start + shot.stop - 1) // 2)
        scores = [float(middle @ thumb(f)) for f in exemplar_frames]
        best = int(np.argmax(scores))
        if scores[best] >= SAME_SETUP:
            sources.append(ShotSource(s, shot.start, shot.stop, (), best, "similar", scores[best]))
            continue
        centre = (shot.start + shot.stop) / 2
        nearest = min(range(len(exemplar_frames)), key=lambda i: abs(exemplar_frames[i] - centre))
        sources.append(ShotSource(s, shot.start, shot.stop, (), nearest, "nearest"))
    return sources
