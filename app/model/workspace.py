"""The open project as the controller's parts share it: the project, its video, segments and colorized frames.

Qt-free state with no signals: the controller and the objects it owns (runs, exemplar edits, shots, project files)
read and change it on the GUI thread, and each tells the views through its own signals what it changed.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from app.jobs import SegmentInfo
    from app.model.frame_cache import FrameCache
    from app.model.project import Project
    from colormnet.video import VideoInfo


@dataclass
class Workspace:
    """The project being edited and what is known of its video.

    Attributes:
        project: The open project (a scratch one before any video opens).
        cache: The frame cache of the project (None before the first project is adopted).
        video_info: The open video (None while none is open).
        segments: The session's segments, in frame order.
        colorized: Per frame of the video, whether its colorized frame is cached under a current key of its segment.
        current_frame: The playhead.
    """

    project: Project
    cache: FrameCache | None = None
    video_info: VideoInfo | None = None
    segments: list[SegmentInfo] = field(default_factory=list)
    colorized: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    current_frame: int = 0

    @property
    def frame_count(self) -> int:
        """Frames of the open video (0 when none is open)."""
        return int(self.colorized.size)

    def adopt(self, project: Project, cache: FrameCache) -> None:
        """Make ``project`` the open one, with no video open yet."""
        self.project = project
        self.cache = cache
        self.video_info = None
        self.segments = []
        self.colorized = np.zeros(0, dtype=bool)
        self.current_frame = 0

    def video_opened(self, info: VideoInfo) -> None:
        """The project's video opened: size the colorized map and put the playhead where the project left it."""
        self.video_info = info
        count = info.frame_count
        self.project.frame_count = count
        self.colorized = np.zeros(count, dtype=bool)
        self.current_frame = min(max(0, self.project.playhead), max(0, count - 1))

    def segment_index_at(self, frame: int) -> int | None:
        """Index into :attr:`segments` of the segment holding ``frame``."""
        starts = [s.start for s in self.segments]
        i = bisect.bisect_right(starts, frame) - 1
        if 0 <= i < len(self.segments) and frame < self.segments[i].stop:
            return i
        return None

    def key_at(self, frame: int) -> str:
        """Cache key ``frame`` is shown from: its segment's key, or the export precision's where an export rendered
        the frame ("" when no segment holds it)."""
        i = self.segment_index_at(frame)
        if i is None:
            return ""
        segment = self.segments[i]
        if segment.export_key and self.cache is not None and self.cache.contains(segment.export_key, frame):
            return segment.export_key
        return segment.key

    def set_segments(self, segments: list[SegmentInfo]) -> None:
        """New segments from the session: a frame counts as colorized when the cache holds it under a new key."""
        self.segments = sorted(segments, key=lambda s: s.start)
        self.colorized[:] = False
        if self.cache is None:
            return
        for segment in self.segments:
            for key in segment.keys:
                cached = [i for i in self.cache.frames(key) if segment.start <= i < segment.stop]
                self.colorized[cached] = True

    def mark_colorized(self, index: int, key: str) -> bool:
        """A frame was colorized under ``key``; True when that is a current key of its segment (it now counts)."""
        i = self.segment_index_at(index)
        if key and index < self.frame_count and i is not None and key in self.segments[i].keys:
            self.colorized[index] = True
            return True
        return False
