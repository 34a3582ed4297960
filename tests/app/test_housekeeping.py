"""Clean-up of the app's own files, and opening an image sequence."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
from PIL import Image

from app.controller import Controller
from app.model import autosave
from app.model.paths import prune_stale_folders, stale_files
from app.model.project import Project
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar


def age(folder: Path, days: float) -> None:
    stamp = time.time() - days * 86400
    for path in [folder, *folder.iterdir()]:
        os.utime(path, (stamp, stamp))


def test_stale_folders_are_pruned_but_referenced_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "frames"
    old, recent, referenced = (root / name for name in ("old", "recent", "referenced"))
    for folder in (old, recent, referenced):
        folder.mkdir(parents=True)
        (folder / "0000000.png").write_bytes(b"x")
    age(old, 40)
    age(referenced, 40)
    project = Project(files_dir=referenced)
    project.video = tmp_path / "film.mp4"
    snapshots = tmp_path / "autosave"
    autosave.write_autosave(snapshots, project)
    keep = autosave.referenced_folders(snapshots)
    assert keep == {referenced.resolve()}
    assert prune_stale_folders(root, 30, keep=keep) == [old]
    assert sorted(p.name for p in root.iterdir()) == ["recent", "referenced"]
    assert prune_stale_folders(tmp_path / "missing", 30) == []


def test_stale_files_are_old_plain_files_only(tmp_path: Path) -> None:
    root = tmp_path / "thumbnails"
    root.mkdir()
    old, recent, folder = root / "old.npz", root / "recent.npz", root / "folder"
    old.write_bytes(b"x")
    recent.write_bytes(b"x")
    folder.mkdir()
    outside = tmp_path / "someone-elses.npz"
    outside.write_bytes(b"x")
    (root / "link.npz").symlink_to(outside)
    stamp = time.time() - 40 * 86400
    for path in (old, folder, outside):
        os.utime(path, (stamp, stamp))
    assert stale_files(root, 30) == [old]  # not the recent file, the folder, nor the link to an old file
    assert stale_files(tmp_path / "missing", 30) == []


def test_closing_an_unsaved_project_deletes_its_files(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path]
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        controller.files.open_video(realshort)
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    files = controller.project.files_dir
    assert any(files.rglob("*.png"))
    assert window.close()  # the test's answer to "save changes?" is Discard
    assert not files.exists()
    assert not (controller.paths.cache / controller.project.project_id).exists()


def test_open_an_image_sequence_folder(qtbot, controller: Controller, tmp_path: Path) -> None:
    folder = tmp_path / "scan"
    folder.mkdir()
    for index in range(5):
        gray = np.full((48, 64), 40 * index, np.uint8)
        Image.fromarray(gray).save(folder / f"reel1_{index:04d}.png")
    window = MainWindow(controller)
    qtbot.addWidget(window)
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS) as opened:
        window.commands.open_path(folder)
    info = opened.args[0]
    assert info.is_image_sequence and info.frame_count == 5
    assert window.status.video_label.text().endswith("8-bit image sequence")
    controller.set_current_frame(3)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 3, timeout=10_000)
    assert controller.settings.recent_files()[0] == folder.resolve()
