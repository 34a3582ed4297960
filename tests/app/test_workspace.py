"""The workspace's keys: frames an export rendered at another precision than the previews count and are shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.jobs import SegmentInfo
from app.model.frame_cache import FrameCache
from app.model.project import Project
from app.model.workspace import Workspace


def _workspace(tmp_path: Path) -> tuple[Workspace, FrameCache]:
    cache = FrameCache(tmp_path, "cache")
    workspace = Workspace(Project.scratch(tmp_path / "scratch"))
    workspace.adopt(workspace.project, cache)
    workspace.colorized = np.zeros(10, dtype=bool)  # a 10-frame video
    return workspace, cache


def test_frames_at_the_export_precision_count_and_are_preferred(tmp_path: Path) -> None:
    workspace, cache = _workspace(tmp_path)
    rgb = np.zeros((4, 4, 3), np.uint8)
    cache.put("preview", 1, rgb)
    cache.put("preview", 2, rgb)
    cache.put("final", 2, rgb)
    cache.put("final", 3, rgb)
    cache.put("other", 7, rgb)  # a key no segment has now
    workspace.set_segments([SegmentInfo(5, 10, 5, 5, "later"), SegmentInfo(0, 5, 0, 0, "preview", "final")])
    assert workspace.colorized.tolist() == [False, True, True, True] + [False] * 6
    assert [workspace.key_at(i) for i in (0, 1, 2, 3, 6)] == ["preview", "preview", "final", "final", "later"]

    assert workspace.mark_colorized(4, "final") and workspace.key_at(4) == "preview"  # counted; not cached here
    cache.put("final", 4, rgb)
    assert workspace.key_at(4) == "final"
    assert workspace.mark_colorized(0, "preview") and not workspace.mark_colorized(6, "final")
    assert not workspace.mark_colorized(8, "other") and not workspace.mark_colorized(8, "")
    assert workspace.colorized.tolist() == [True] * 5 + [False] * 5

    workspace.set_segments([SegmentInfo(0, 10, 0, 0, "preview")])  # exports and previews at one precision
    assert workspace.colorized.tolist() == [False, True, True] + [False] * 7
    assert workspace.key_at(3) == "preview"
