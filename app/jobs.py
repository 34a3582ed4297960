"""The messages passed between the controller and the session worker: plain frozen dataclasses, no Qt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from app.model.engine_settings import EngineSettings
from app.model.frame_cache import FrameCache

if TYPE_CHECKING:
    from colormnet.session import Session


class ShotLike(Protocol):
    """A shot's frames ``[start, stop)`` (the session's and the project's shots alike)."""

    @property
    def start(self) -> int: ...

    @property
    def stop(self) -> int: ...

RunScope = Literal["segment", "shot", "from_here", "all", "range"]


@dataclass(frozen=True)
class ExemplarSpec:
    """An exemplar as the worker needs it: where its image file is and how to use it."""

    frame: int
    image: Path
    kind: str
    name: str
    references: tuple[Path, ...] = ()  # further reference images (the deepexemplar engine matches them jointly)


@dataclass(frozen=True)
class OpenRequest:
    """What to open a session with."""

    video: Path
    weights: Path | None
    settings: EngineSettings
    cache: FrameCache
    exemplars: tuple[ExemplarSpec, ...] = ()  # the project's: checked against this video, not the one open before
    shots: tuple[Any, ...] | None = None  # its shots (None: one shot) and the links chosen by hand, likewise
    links: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class SegmentInfo:
    """A segment of the session, with the cache key of its frames ("" when it cannot be computed yet).

    ``export_key`` is the key of the same frames rendered at the export precision, where exports run at another
    precision than previews ("" otherwise): frames an export rendered are shown, and not colorized again, in place of
    preview frames.
    """

    start: int
    stop: int
    anchor: int
    exemplar_frame: int
    key: str
    export_key: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """The keys its frames may be cached under, the export precision's first."""
        return tuple(k for k in (self.export_key, self.key) if k)


@dataclass(frozen=True)
class RunRequest:
    """Which frames to colorize: the segment or shot under ``frame``, from ``frame`` on, everything, or
    ``[frame, stop)``."""

    scope: RunScope
    frame: int = 0
    stop: int | None = None

    def span(self, session: Session) -> tuple[int, int]:
        """The frames ``[start, stop)`` it asks for in ``session``."""
        found = session.segment_at(self.frame) if self.scope == "segment" else None
        segment = None if found is None else (found.start, found.stop)
        return self.frames_in(session.video_info.frame_count, segment, session.shots)

    def frames_in(self, count: int, segment: tuple[int, int] | None, shots: Sequence[ShotLike]) -> tuple[int, int]:
        """The frames ``[start, stop)`` it asks for in a film of ``count`` frames, given the ``[start, stop)`` of the
        segment under :attr:`frame` (for the ``segment`` scope; None: unknown) and the film's shots (none holding
        :attr:`frame`: the film is one shot)."""
        if self.scope == "segment" and segment is not None:
            return segment
        if self.scope == "shot":
            return next(((s.start, s.stop) for s in shots if s.start <= self.frame < s.stop), (0, count))
        if self.scope == "all":
            return 0, count
        return max(0, self.frame), count if self.stop is None else min(self.stop, count)


@dataclass(frozen=True)
class ExportJob:
    """An export: frames ``[start, stop)`` to ``path`` with one of the core's codecs.

    ``cluster`` (a Ray address, or ``local``) renders it on a cluster with at most ``workers`` units at once
    (None: one per GPU, else per CPU); None exports here, from the frame cache.
    """

    path: Path
    codec: str
    start: int
    stop: int
    audio: bool
    overwrite: bool
    cluster: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class ColorizedFrame:
    """One frame the worker produced (already in the cache)."""

    index: int
    key: str
    rgb: np.ndarray  # HxWx3 uint8, stored orientation: what the viewer shows of it, without reading the cache back
    done: int
    total: int
    notice: str = ""  # something the user must be told (a fallback after the GPU ran out of memory)
