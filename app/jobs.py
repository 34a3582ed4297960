"""The messages passed between the controller and the session worker: plain frozen dataclasses, no Qt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from app.model.engine_settings import EngineSettings
from app.model.frame_cache import FrameCache

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


@dataclass(frozen=True)
class SegmentInfo:
    """A segment of the session, with the cache key of its frames ("" when it cannot be computed yet)."""

    start: int
    stop: int
    anchor: int
    exemplar_frame: int
    key: str


@dataclass(frozen=True)
class RunRequest:
    """Which frames to colorize: the segment or shot under ``frame``, from ``frame`` on, everything, or
    ``[frame, stop)``."""

    scope: RunScope
    frame: int = 0
    stop: int | None = None


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
