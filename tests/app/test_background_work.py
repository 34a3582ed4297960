"""Slow file work leaves the GUI thread: pinning a frame, saving a pasted image, deleting stale caches.

Each test holds the work back (a stand-in that waits for the test's go-ahead) to show that the GUI call returns
before the work is done, that the work runs on another thread, and that its result lands when it finishes.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtGui import QImage

import app.project_edits
import app.stale_pruning
from app.main import start_cleanup
from app.model.paths import AppPaths
from app.stale_pruning import StalePruner
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, wait_for_segments
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


class Held:
    """Wraps ``work`` so that it records its thread and waits for :meth:`release` before doing anything."""

    def __init__(self, work: Callable[..., Any]) -> None:
        self._work = work
        self.threads: list[int] = []
        self.started = threading.Event()
        self._go = threading.Event()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.threads.append(threading.get_ident())
        self.started.set()
        assert self._go.wait(RUN_TIMEOUT_MS / 1000), "the test never let the work go on"
        return self._work(*args, **kwargs)

    def release(self) -> None:
        self._go.set()


@pytest.fixture
def colorized(qtbot, editor: MainWindow, colour_frames: dict[int, Path]) -> MainWindow:  # noqa: F811
    """The editor with an exemplar at frame 0 and frames 0-3 colorized."""
    controller = editor.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 4)
    return editor


def test_pinning_encodes_the_frame_off_the_gui_thread(qtbot, colorized: MainWindow, monkeypatch) -> None:
    controller = colorized.controller
    encoder = Held(app.project_edits.encode_png)
    monkeypatch.setattr(app.project_edits, "encode_png", encoder)
    controller.set_current_frame(2)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as pinned:
        controller.edits.pin_current_frame()  # returns while the encoder waits
        assert controller.project.exemplar_at(2) is None
        qtbot.waitUntil(encoder.started.is_set, timeout=RUN_TIMEOUT_MS)
        encoder.release()
    assert pinned.args == [True]
    assert encoder.threads and threading.main_thread().ident not in encoder.threads
    entry = controller.project.exemplar_at(2)
    assert entry is not None and entry.kind == "keyframe" and entry.image.is_file()
    assert colorized.actions_by_name["undo"].text() == "&Undo Add Exemplar at Frame 2"
    colorized.actions_by_name["undo"].trigger()
    assert controller.project.exemplar_at(2) is None


def test_pasting_saves_the_image_off_the_gui_thread(
    qtbot, editor: MainWindow, colour_frames: dict[int, Path], monkeypatch  # noqa: F811
) -> None:
    controller = editor.controller
    saver = Held(QImage.save)
    monkeypatch.setattr(QImage, "save", lambda image, *args: saver(image, *args))  # a function: bound as a method
    controller.set_current_frame(4)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as pasted:
        controller.edits.add_exemplar_image(QImage(str(colour_frames[4])))
        assert controller.project.exemplars == []
        qtbot.waitUntil(saver.started.is_set, timeout=RUN_TIMEOUT_MS)
        saver.release()
    assert pasted.args == [True]
    assert saver.threads and threading.main_thread().ident not in saver.threads
    assert [(e.frame, e.name) for e in controller.project.exemplars] == [(4, "clipboard")]
    editor.actions_by_name["undo"].trigger()
    assert controller.project.exemplars == []


def test_pinning_a_frame_that_cannot_be_saved_is_refused(qtbot, colorized: MainWindow, monkeypatch) -> None:
    controller = colorized.controller

    def full_disk(rgb: np.ndarray) -> bytes:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app.project_edits, "encode_png", full_disk)
    controller.set_current_frame(1)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as pinned:
        controller.edits.pin_current_frame()
    assert pinned.args == [False]
    assert "No space left on device" in colorized.last_message.text()  # type: ignore[union-attr]
    assert controller.project.exemplar_at(1) is None


def age(folder: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    for path in [*folder.rglob("*"), folder]:
        os.utime(path, (stamp, stamp))


def stale_folder(root: Path, name: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0000000.png").write_bytes(b"x")
    age(folder, 40)
    return folder


def test_stale_folders_go_in_the_background_but_not_the_open_projects(
    qtbot, editor: MainWindow, monkeypatch  # noqa: F811
) -> None:
    controller = editor.controller
    paths: AppPaths = controller.paths
    used_cache = stale_folder(paths.cache, controller.cache.root.name)  # type: ignore[union-attr]
    used_files = controller.project.files_dir
    assert used_files.parent == paths.scratch  # an unsaved project: its files are in the scratch folder
    stale_folder(paths.scratch, used_files.name)  # the open project's folders are old, yet in use
    old_cache = stale_folder(paths.cache, "old-project")
    old_scratch = stale_folder(paths.scratch, "old-untitled")
    fresh = paths.cache / "recent-project"
    fresh.mkdir()
    set_aside = paths.scratch / f"{app.stale_pruning.STALE_PREFIX}0123"  # the last run ended before deleting it
    set_aside.mkdir()
    paths.thumbnails.mkdir(parents=True, exist_ok=True)
    old_thumbnails, fresh_thumbnails = paths.thumbnails / "old.npz", paths.thumbnails / "recent.npz"
    reread = paths.thumbnails / "reread.npz"  # old when found, read (its film opened) before it is deleted
    for file in (old_thumbnails, fresh_thumbnails, reread):
        file.write_bytes(b"x")
    stamp = time.time() - 40 * 86400
    for file in (old_thumbnails, reread):
        os.utime(file, (stamp, stamp))
    deleter = Held(app.stale_pruning.remove_tree)
    monkeypatch.setattr(app.stale_pruning, "remove_tree", deleter)
    pruner = StalePruner(paths, 30, controller.files.folders_in_use)
    with qtbot.waitSignal(pruner.sig_finished, timeout=RUN_TIMEOUT_MS) as finished:
        pruner.start()  # returns at once; the folders go once the deletion is let through
        qtbot.waitUntil(deleter.started.is_set, timeout=RUN_TIMEOUT_MS)
        os.utime(reread)  # as app.thumbnails.load_cached marks a set it reads
        deleter.release()
    assert pruner.wait(RUN_TIMEOUT_MS)
    assert sorted(finished.args[0]) == sorted([old_cache, old_scratch, set_aside, old_thumbnails])
    assert reread.exists()
    assert deleter.threads and threading.main_thread().ident not in deleter.threads
    assert not old_cache.exists() and not old_scratch.exists() and not set_aside.exists()
    assert used_cache.is_dir() and fresh.is_dir() and used_files.is_dir()
    assert not old_thumbnails.exists() and fresh_thumbnails.exists()
    assert not [p for p in paths.cache.iterdir() if p.name.startswith(app.stale_pruning.STALE_PREFIX)]


def test_a_project_never_saved_leaves_nothing_behind_once_another_replaces_it(
    qtbot, colorized: MainWindow, realshort: Path, tmp_path: Path
) -> None:
    controller = colorized.controller
    files = controller.files
    pruner = start_cleanup(colorized, controller.paths)  # as the app starts it
    with qtbot.waitSignal(pruner.sig_finished, timeout=RUN_TIMEOUT_MS):
        pass  # nothing stale yet
    old_cache = controller.cache
    assert old_cache is not None
    unsaved_files, unsaved_cache = controller.project.files_dir, old_cache.root
    assert any(unsaved_files.rglob("*.png")) and any(unsaved_cache.rglob("*.png"))
    with (qtbot.waitSignal(pruner.sig_finished, timeout=RUN_TIMEOUT_MS) as finished,
          qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS)):
        files.open_video(realshort)  # the window asks about unsaved changes before it calls this
    assert sorted(finished.args[0]) == sorted([unsaved_files, unsaved_cache])
    assert not unsaved_files.exists() and not unsaved_cache.exists()
    old_cache.put("a" * 24, 3, np.zeros((8, 8, 3), np.uint8))  # the frame a stopped run was still computing
    assert not unsaved_cache.exists()  # does not make the folder again
    assert controller.project.files_dir.is_dir()  # the new project's own

    assert files.save_project(tmp_path / "kept.cmnproj")
    left: list[list[Path]] = []
    files.sig_left_behind.connect(left.append)
    files.close_project()  # a saved project keeps its files and frame cache for the next time it opens
    assert left == [] and (tmp_path / "kept_files").is_dir()
    empty = controller.project.files_dir
    with qtbot.waitSignal(pruner.sig_finished, timeout=RUN_TIMEOUT_MS):
        files.open_video(realshort)  # the empty project that Close left, never saved, goes in its turn
    assert left == [[empty]] and not empty.exists()
    assert pruner.wait(RUN_TIMEOUT_MS)


def test_removing_a_tree_never_follows_links_and_stops_when_told(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "kept").mkdir(parents=True)
    (outside / "kept" / "frame.png").write_bytes(b"x")
    tree = tmp_path / ".stale-0"
    (tree / "a" / "b").mkdir(parents=True)
    for name in ("a/0.png", "a/b/1.png", "2.png"):
        (tree / name).write_bytes(b"x")
    (tree / "a" / "to_folder").symlink_to(outside / "kept", target_is_directory=True)
    (tree / "to_file").symlink_to(outside / "kept" / "frame.png")
    stop = threading.Event()
    stop.set()
    assert not app.stale_pruning.remove_tree(tree, stop)
    assert (tree / "a" / "b" / "1.png").exists()  # nothing deleted once told to stop
    assert app.stale_pruning.remove_tree(tree, threading.Event())
    assert not tree.exists() and not os.path.lexists(tree)
    assert (outside / "kept" / "frame.png").read_bytes() == b"x"  # the links went, not what they point to


def test_closing_stops_a_long_deletion_and_the_next_start_finishes_it(
    qtbot, editor: MainWindow, monkeypatch  # noqa: F811
) -> None:
    controller = editor.controller
    paths: AppPaths = controller.paths
    old_cache = stale_folder(paths.cache, "old-project")
    for index in range(1, 50):
        (old_cache / f"{index:07d}.png").write_bytes(b"x")
    age(old_cache, 40)
    deleted: list[str] = []
    real_unlink = os.unlink
    pruner = StalePruner(paths, 30, controller.files.folders_in_use)

    def unlink_then_close(path: str, *args: Any, **kwargs: Any) -> None:  # the user quits during the first file
        real_unlink(path, *args, **kwargs)
        if app.stale_pruning.STALE_PREFIX in str(path):  # os.unlink is the whole process's: others pass through
            deleted.append(str(path))
            pruner.stop()

    monkeypatch.setattr(app.stale_pruning.os, "unlink", unlink_then_close)
    with qtbot.waitSignal(pruner.sig_finished, timeout=RUN_TIMEOUT_MS) as finished:
        pruner.start()
    assert pruner.wait(RUN_TIMEOUT_MS)
    assert finished.args[0] == [] and len(deleted) == 1
    left = [p for p in paths.cache.iterdir() if p.name.startswith(app.stale_pruning.STALE_PREFIX)]
    assert len(left) == 1 and len(list(left[0].iterdir())) == 49 and not old_cache.exists()

    monkeypatch.setattr(app.stale_pruning.os, "unlink", real_unlink)
    again = StalePruner(paths, 30, controller.files.folders_in_use)
    with qtbot.waitSignal(again.sig_finished, timeout=RUN_TIMEOUT_MS) as finished:
        again.start()
    assert again.wait(RUN_TIMEOUT_MS)
    assert finished.args[0] == left and not left[0].exists()
