"""Shots and shot lists: what a detector finds, what the cache and the file formats hold, what the session uses.

A shot list covers a video without gap or overlap: shot ``k`` runs over frames ``[start, stop)``, the first starts at
0, each next one starts where the previous one stops, and the last stops at the frame count. What opens a shot is its
``boundary``: ``start`` for the first, else a hard ``cut``, a ``dissolve`` or a ``fade`` (through black or white).
A gradual transition also keeps its frame range ``transition`` (the boundary frame is its middle), so that the frames
inside it can be given to both shots and cross-faded.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, cast, get_args

from colormnet.errors import ColorMNetError

BoundaryKind = Literal["start", "cut", "dissolve", "fade"]
BOUNDARY_KINDS: tuple[str, ...] = get_args(BoundaryKind)


class ShotListError(ColorMNetError):
    """A shot list is malformed (an unreadable or hostile file, shots that do not cover the video)."""


class DetectionCancelledError(ColorMNetError):
    """Shot detection stopped because its cancel event was set."""


@dataclass(frozen=True)
class Shot:
    """One shot: frames ``[start, stop)`` and what opens it.

    Attributes:
        start: First frame.
        stop: One past the last frame.
        boundary: ``start`` for the first shot, else ``cut``, ``dissolve`` or ``fade``.
        transition: For a dissolve or a fade, the frames ``[a, b)`` of the transition that opens this shot; ``start``
            lies inside it (its middle as detected). None for a hard cut and the first shot.
    """

    start: int
    stop: int
    boundary: BoundaryKind = "cut"
    transition: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.boundary not in BOUNDARY_KINDS:
            raise ShotListError(f"A shot's boundary is one of {', '.join(BOUNDARY_KINDS)}, not {self.boundary!r}.")
        if not 0 <= self.start < self.stop:
            raise ShotListError(f"A shot runs over at least one frame: {self.start} to {self.stop} does not.")
        if self.transition is not None:
            a, b = self.transition
            if not a <= self.start < b or self.boundary not in ("dissolve", "fade"):
                raise ShotListError(
                    f"The shot at frame {self.start} has a transition {a} to {b} that does not hold its first frame "
                    "or does not belong to a dissolve or a fade."
                )

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class Boundary:
    """A detected boundary: the first frame of a new shot, its kind, and a gradual one's frame range."""

    frame: int
    kind: BoundaryKind
    transition: tuple[int, int] | None = None


def shots_from_boundaries(boundaries: Iterable[Boundary], frame_count: int) -> list[Shot]:
    """Turns detected boundaries into a shot list covering ``[0, frame_count)``.

    Boundaries at frame 0 or past the end are dropped, and of two at the same frame the first is kept. Transition
    ranges are clipped to the video and to the neighbouring boundaries, so that each shot's transition holds its start.
    """
    if frame_count < 1:
        raise ShotListError("A video without frames has no shots.")
    chosen: dict[int, Boundary] = {}
    for b in sorted(boundaries, key=lambda b: b.frame):
        if 0 < b.frame < frame_count and b.frame not in chosen:
            chosen[b.frame] = b
    starts = [0, *chosen]
    shots = []
    for k, start in enumerate(starts):
        stop = starts[k + 1] if k + 1 < len(starts) else frame_count
        if k == 0:
            shots.append(Shot(0, stop, "start"))
            continue
        b = chosen[start]
        transition = None
        if b.transition is not None and b.kind in ("dissolve", "fade"):
            low = max(b.transition[0], starts[k - 1] + 1)
            high = min(b.transition[1], stop)
            transition = (low, high) if low <= start < high and high - low > 1 else None
        shots.append(Shot(start, stop, b.kind, transition))
    return shots


def validate_shots(shots: Sequence[Shot], frame_count: int | None = None) -> list[Shot]:
    """Checks that ``shots`` are sorted and contiguous from frame 0 (to ``frame_count`` when given).

    Returns:
        The shots as a list.

    Raises:
        ShotListError: A gap, an overlap, a first shot not at 0 or not marked ``start``, or a wrong end.
    """
    if not shots:
        raise ShotListError("The shot list is empty; it needs at least one shot.")
    expected = 0
    for number, shot in enumerate(shots):
        if shot.start != expected:
            what = "a gap" if shot.start > expected else "an overlap"
            raise ShotListError(f"Shot {number + 1} starts at frame {shot.start}, leaving {what} after frame "
                                f"{expected}; shots must follow each other without gap or overlap.")
        if (number == 0) != (shot.boundary == "start"):
            raise ShotListError(f"Shot {number + 1} has boundary {shot.boundary!r}; only the first shot is 'start'.")
        expected = shot.stop
    if frame_count is not None and expected != frame_count:
        raise ShotListError(f"The shots end at frame {expected} but the video has {frame_count} frames; "
                            "the shot list belongs to another video or another cut of it.")
    return list(shots)


def shot_index(shots: Sequence[Shot], frame: int) -> int:
    """The position in ``shots`` (a valid list) of the shot holding ``frame``.

    Raises:
        ShotListError: ``frame`` lies outside the shots.
    """
    if not shots or not shots[0].start <= frame < shots[-1].stop:
        raise ShotListError(f"Frame {frame} lies outside the shot list.")
    return bisect.bisect_right([s.start for s in shots], frame) - 1


def boundary_frames(shots: Sequence[Shot]) -> list[int]:
    """The first frame of every shot after the first."""
    return [shot.start for shot in shots[1:]]


def timecode(frame: int, fps: Fraction | float) -> str:
    """``HH:MM:SS:FF`` of ``frame`` (non-drop-frame, at the frame rate rounded to whole frames per second)."""
    base = max(1, round(float(fps)))
    seconds, frames = divmod(frame, base)
    minutes, secs = divmod(seconds, 60)
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}:{secs:02d}:{frames:02d}"


def parse_timecode(text: str, fps: Fraction | float) -> int:
    """``HH:MM:SS:FF`` (``;`` accepted before FF) -> frame number at the rounded frame rate.

    Raises:
        ShotListError: malformed, or a field out of range.
    """
    base = max(1, round(float(fps)))
    parts = text.strip().replace(";", ":").split(":")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        raise ShotListError(f"Expected a timecode HH:MM:SS:FF, got {text[:40]!r}.")
    hours, mins, secs, frames = (int(p) for p in parts)
    if mins >= 60 or secs >= 60 or frames >= base:
        raise ShotListError(f"The timecode {text[:40]!r} has a field out of range at {base} frames per second.")
    return ((hours * 60 + mins) * 60 + secs) * base + frames


def as_kind(text: str) -> BoundaryKind:
    """Checks a boundary name read from a file."""
    if text not in BOUNDARY_KINDS:
        raise ShotListError(f"Unknown boundary {text[:40]!r}; expected one of {', '.join(BOUNDARY_KINDS)}.")
    return cast(BoundaryKind, text)
