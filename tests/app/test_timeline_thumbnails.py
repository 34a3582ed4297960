"""The timeline's thumbnail strip: decoded off the GUI thread, cached per video content, cancelled on a new video."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from app import thumbnails
from app.thumbnails import THUMB_HEIGHT, ThumbnailStrip, content_key, load_cached, store, thumbnail_frames
from app.widgets.main_window import MainWindow
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


def test_thumbnail_frames_spread_over_the_film() -> None:
    assert thumbnail_frames(36, 4) == [4, 13, 22, 31]
    assert thumbnail_frames(3, 48) == [0, 1, 2]
    assert thumbnail_frames(0) == []


def test_the_cache_key_follows_the_content_not_the_name(tmp_path: Path, realshort: Path) -> None:
    copy = tmp_path / "renamed.mp4"
    shutil.copy(realshort, copy)
    assert content_key(copy) == content_key(realshort)
    with copy.open("r+b") as file:
        file.seek(100)
        file.write(b"changed")
    assert content_key(copy) != content_key(realshort)


def test_a_damaged_cache_file_is_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a numpy archive")
    assert load_cached(bad, [0, 1]) is None
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, frames=np.array([0, 1]), images=np.zeros((2, 5, 5, 3), dtype=np.uint8))  # not THUMB_HEIGHT
    assert load_cached(wrong, [0, 1]) is None
    assert load_cached(tmp_path / "missing.npz", [0]) is None


def test_reading_a_thumbnail_set_marks_it_in_use(tmp_path: Path) -> None:
    file = tmp_path / "set.npz"
    store(file, {0: np.zeros((THUMB_HEIGHT, 8, 3), np.uint8), 5: np.ones((THUMB_HEIGHT, 8, 3), np.uint8)})
    old = time.time() - 40 * 86400
    os.utime(file, (old, old))
    assert load_cached(file, [0, 1]) is None and file.stat().st_mtime == old  # another set: not in use
    cached = load_cached(file, [0, 5])
    assert cached is not None and cached[5].max() == 1
    assert file.stat().st_mtime > time.time() - 60  # the stale clean-up keeps what is read


def test_the_strip_shows_thumbnails_and_reuses_the_cache(
    editor: MainWindow, qtbot: object, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    bar = editor.timeline.bar
    assert sorted(bar.thumbnails) == thumbnail_frames(36)
    assert {image.height() for image in bar.thumbnails.values()} == {THUMB_HEIGHT}
    for image in bar.thumbnails.values():  # a colour film's too: the source as the viewer shows it, its luma
        pixels = [image.pixelColor(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)]
        assert all(p.red() == p.green() == p.blue() for p in pixels)
    assert len({image.pixelColor(20, 20).red() for image in bar.thumbnails.values()}) > 1
    tiles = bar.thumbnail_tiles()
    assert tiles and tiles[0][0].left() < tiles[-1][0].right() <= bar.width()
    assert tiles[0][1] < tiles[-1][1]  # left tiles show early frames
    cached = list(editor.thumbnails.cache_dir.glob("*.npz"))
    assert len(cached) == 1
    # Opened again, the film's thumbnails come from the cache: nothing is decoded.
    monkeypatch.setattr(thumbnails, "shrink", lambda rgb, height=THUMB_HEIGHT: pytest.fail("decoded again"))
    editor.thumbnails.start(editor.controller.project.video)
    qtbot.waitUntil(lambda: not editor.thumbnails.building, timeout=30_000)  # type: ignore[attr-defined]
    assert sorted(bar.thumbnails) == thumbnail_frames(36)


def test_a_new_video_cancels_the_build(qtbot: object, tmp_path: Path, realshort: Path) -> None:
    strip = ThumbnailStrip(tmp_path / "thumbs")
    shown: list[dict[int, object]] = []
    strip.sig_changed.connect(shown.append)
    try:
        strip.start(realshort)
        strip.start(None)  # the video closed before its thumbnails were made
        assert not strip.building
        qtbot.wait(500)  # type: ignore[attr-defined]  # let a late answer of the cancelled build arrive
        assert strip.thumbnails == {} and shown[-1] == {}
    finally:
        strip.shutdown()
