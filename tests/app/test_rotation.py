"""A phone clip with a display rotation is shown upright: source and colorized frames alike, for display only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.frame_loader import FrameLoader, FrameRequest, LoadedFrame, to_gray8
from app.model.frame_cache import FrameCache
from colormnet.video import VideoReader
from tests.test_video_rotation import STORED, write_rotated


def _show(qtbot, clip: Path, cache: FrameCache | None, request: FrameRequest) -> LoadedFrame:
    """What a fresh loader hands the viewer for ``request``."""
    loader = FrameLoader()
    shown: list[LoadedFrame] = []
    loader.sig_loaded.connect(shown.append)
    loader.open(1, str(clip), cache)
    loader.request(request)
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    loader.close()
    return shown[0]


def test_the_loader_shows_source_and_colorized_frames_upright(tmp_path: Path, qtbot) -> None:
    clip = tmp_path / "portrait.mkv"
    stored = write_rotated(clip, -90)
    colorized = stored[2][..., ::-1].copy()  # a colour frame as the session makes it: in the stored orientation
    cache = FrameCache(tmp_path, "cache")
    cache.put("seg", 2, colorized)
    frame = _show(qtbot, clip, cache, FrameRequest(2, "seg"))
    with VideoReader(clip) as reader:
        expected_gray = to_gray8(reader.read_upright(2))
    assert frame.gray.shape == (STORED[1], STORED[0]) and frame.gray.flags.c_contiguous
    assert np.array_equal(frame.gray, expected_gray)
    assert frame.color is not None and np.array_equal(frame.color, np.rot90(colorized, 3))


@pytest.mark.parametrize(("degrees", "turns"), [(0, 0), (180, 2), (90, 1)])
def test_every_quarter_turn_is_applied(tmp_path: Path, qtbot, degrees: int, turns: int) -> None:
    clip = tmp_path / "clip.mkv"
    stored = write_rotated(clip, degrees)
    frame = _show(qtbot, clip, None, FrameRequest(0, ""))
    assert np.array_equal(frame.gray, np.rot90(to_gray8(stored[0]), turns))
