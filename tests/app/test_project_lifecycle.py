"""Opening, restoring and closing projects from the window: the range shown, the restore offer, Recent files, runs
that opening or quitting would stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.controller import Controller
from app.model import autosave
from app.session_worker import SessionWorker
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, show_empty_main_window, wait_for_segments
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)

RUN_NOTES = ("Colorizing…", "Cancelled.", "Colorization finished.", "Colorization stopped on an error.")
"""What the status bar says of a run, while it goes and once it ends."""


def test_a_project_opened_with_only_an_in_point_ends_its_range_at_the_last_frame(
    qtbot, controller: Controller, project, app_paths, answers
) -> None:
    from PySide6.QtWidgets import QMessageBox

    project.in_point = 3
    project.dirty = True
    autosave.write_autosave(app_paths.autosave, project)
    snapshot = next(app_paths.autosave.glob("*.cmnproj"))
    snapshot.write_text(snapshot.read_text().replace(f'"pid": {__import__("os").getpid()}', '"pid": 0'))
    window = show_empty_main_window(qtbot, controller)
    answers.queue.append(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert window.commands.offer_restore()
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    assert window.timeline.range_label.text() == "In 3 · Out 35"


def _orphan(app_paths, project, age_s: float) -> Path:
    """A snapshot of ``project`` as a run that crashed ``age_s`` seconds ago left it."""
    import os

    project.dirty = True
    path = autosave.write_autosave(app_paths.autosave, project)
    path.write_text(path.read_text().replace(f'"pid": {os.getpid()}', '"pid": 0'))
    when = path.stat().st_mtime - age_s
    os.utime(path, (when, when))
    return path


def test_every_project_a_crash_left_is_offered_before_it_is_deleted(
    qtbot, controller: Controller, project, app_paths, realshort: Path, tmp_path: Path, monkeypatch
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from app.model.project import Project

    older = Project.scratch(tmp_path / "older")
    older.video = realshort.resolve()
    older.path = tmp_path / "reel two.cmnproj"
    newest, second = _orphan(app_paths, project, 10), _orphan(app_paths, older, 600)
    asked: list[str] = []
    replies = [QMessageBox.StandardButton.Yes]

    def question(parent, title, text, *args):
        asked.append(text)
        return replies.pop(0) if replies else QMessageBox.StandardButton.Discard  # closing at the end: no save

    monkeypatch.setattr(QMessageBox, "question", question)
    window = show_empty_main_window(qtbot, controller)
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert window.commands.offer_restore()
    assert "realshort.mp4" in asked[0] and "No discards them." in asked[0]
    assert "one other unsaved project waits until the next start" in asked[0]
    assert controller.project.project_id == project.project_id
    assert second.exists()  # not offered yet: kept for the next start

    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    newest.unlink()  # the restored project was saved since
    replies[:] = [QMessageBox.StandardButton.No]
    assert not window.commands.offer_restore()
    assert "reel two" in asked[1] and "waits" not in asked[1]
    assert not second.exists()  # declined


def test_recent_files_name_each_entry_plainly(qtbot, controller: Controller, tmp_path: Path) -> None:
    window = show_empty_main_window(qtbot, controller)
    for path in (tmp_path / "a" / "reel.cmnproj", tmp_path / "b" / "reel.cmnproj", tmp_path / "Tom & Jerry.mp4"):
        controller.settings.add_recent(path)
    window.recent_menu.aboutToShow.emit()
    shown = [a.text() for a in window.recent_menu.actions() if a.toolTip().startswith(str(tmp_path))]
    assert shown == ["Tom && Jerry.mp4", "reel.cmnproj — b", "reel.cmnproj — a"]  # && shows one & (no shortcut)
    assert window.recent_menu.toolTipsVisible()


def test_quitting_or_opening_during_a_run_asks_first(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], realshort: Path, answers
) -> None:
    from PySide6.QtWidgets import QMessageBox

    from tests.app.conftest import add_exemplar

    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    controller.project.dirty = False  # as if saved: only the run is at stake
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_all()
        answers.queue += [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel]
        assert not window.close()
        window.commands.open_path(realshort)
        assert answers.asked == ["Stop colorizing?", "Stop colorizing?"]
        assert controller.runs.busy and not controller.files.opening  # nothing stopped, nothing opens
    assert finished.args == ["colorize", False]  # the run went on to its end
    assert window.commands.confirm_discard() and answers.asked == ["Stop colorizing?"] * 2  # nothing runs: no question


def test_a_project_opened_shows_none_of_the_colorized_frames_of_the_one_before(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], realshort: Path
) -> None:
    from tests.app.conftest import add_exemplar, open_video, wait_for_segments

    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 3)
    assert window.timeline.cached_label.text() == "Colorized 3 of 36 frames"
    seen: list[str] = []
    controller.sig_video_opened.connect(lambda info: seen.append(window.timeline.cached_label.text()))
    open_video(qtbot, controller, realshort)  # a new project on the same film
    assert seen == ["Colorized 0 of 36 frames"]


def test_damaged_autosaves_are_told_in_one_message_each_by_its_date(
    qtbot, controller: Controller, project, app_paths, answers, tmp_path: Path
) -> None:
    from app.model.project import Project
    from app.widgets import project_questions

    made = [_orphan(app_paths, project, 10), _orphan(app_paths, Project.scratch(tmp_path / "other"), 600)]
    assert made[0] != made[1]
    for path in made:
        path.write_text("{")  # cut short as the machine went down
    errors: list[str] = []
    window = show_empty_main_window(qtbot, controller)
    assert not project_questions.offer_restore(window, controller, errors.append)
    assert answers.asked == [] and len(errors) == 1, errors
    assert errors[0].count("The unsaved project last changed") == 2 and errors[0].count("cannot be restored") == 2
    assert not any(path.exists() for path in made)


def test_a_run_already_stopping_is_not_asked_about_again(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], answers
) -> None:
    from tests.app.conftest import add_exemplar

    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    controller.project.dirty = False
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_all()
        controller.runs.cancel()  # Esc: the run ends when the worker answers
        assert controller.runs.busy and controller.runs.stopping
        assert window.commands.confirm_discard() and answers.asked == []


def _held_runs(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Colorize runs wait before their first frame until the returned event is set (so that the window can be told
    to open or close something while one goes on, however fast the engine)."""
    held = threading.Event()
    colorized = SessionWorker._colorized

    def held_back(self, frames, cancel):
        held.wait(30)
        yield from colorized(self, frames, cancel)

    monkeypatch.setattr(SessionWorker, "_colorized", held_back)
    return held


def _start_held_run(qtbot, window: MainWindow, colour_frames: dict[int, Path]) -> None:
    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    controller.project.dirty = False  # as if saved: only the run is at stake
    controller.runs.colorize_all()
    qtbot.waitUntil(window.status.progress_label.isVisible, timeout=RUN_TIMEOUT_MS)
    assert window.status.progress_label.text() == "Colorizing…"


def test_opening_another_film_during_a_run_leaves_no_note_of_that_run(
    qtbot, editor: MainWindow, colour_frames: dict[int, Path], realshort: Path, answers, monkeypatch  # noqa: F811
) -> None:
    controller, status = editor.controller, editor.status
    held = _held_runs(monkeypatch)
    shown: list[str] = []
    try:
        _start_held_run(qtbot, editor, colour_frames)
        with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
            editor.commands.open_path(realshort)  # "Stop colorizing?" answered yes
        status.messageChanged.connect(shown.append)
        assert answers.asked == ["Stop colorizing?"] and controller.runs.busy  # the run still stops
        assert not status.progress_label.isVisible() and status.currentMessage() not in RUN_NOTES
    finally:
        held.set()
    qtbot.waitUntil(lambda: not controller.runs.busy, timeout=RUN_TIMEOUT_MS)
    assert not status.progress_label.isVisible() and not status.cancel_button.isVisible()
    assert not set(shown) & set(RUN_NOTES), shown  # its end is not told over the new film


def test_close_project_empties_the_window_and_the_film_opens_again(
    qtbot, editor: MainWindow, colour_frames: dict[int, Path], realshort: Path, answers  # noqa: F811
) -> None:
    controller, a, timeline = editor.controller, editor.actions_by_name, editor.timeline
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 3)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        controller.edits.replace_exemplar(0, colour_frames[30])
    qtbot.waitUntil(editor.compare.bar.isVisible, timeout=RUN_TIMEOUT_MS)  # frames 0-2 have a render from before
    controller.edits.set_in_point(2)
    editor.commands.write_autosave()
    assert list(controller.paths.autosave.glob("*.cmnproj"))  # the unsaved changes' recovery copy
    qtbot.waitUntil(editor.isActiveWindow)
    editor.viewer.setFocus()
    a["play"].trigger()
    qtbot.keyClick(editor.viewer, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert answers.asked == ["Unsaved changes"]  # answered Discard
    qtbot.waitUntil(lambda: editor.shuttle.speed == 0, timeout=5_000)  # playback stops with no film to play
    assert not a["play"].isChecked()
    assert controller.project.video is None and controller.frame_count == 0 and controller.engine.model_state == "idle"
    assert editor.windowTitle() == "Untitled[*] — ColorMNet Studio" and not editor.isWindowModified()  # as at start
    assert editor.viewer.frame_index == -1 and timeline.frame_label.text() == "No video open"
    assert timeline.cached_label.text() == timeline.range_label.text() == timeline.shot_label.text() == ""
    assert timeline.bar.thumbnails == {} and timeline.bar.markers == [] and not editor.exemplars.frames()
    assert not editor.compare.bar.isVisible() and not editor.compare.renders.runs
    assert editor.status.video_label.text() == "No video" and editor.status.currentMessage() == ""
    needs_a_film = ["play", "next_frame", "goto_frame", "in_point", "add_exemplar", "colorize_all", "export", "save",
                    "save_as", "close_project", "undo", "add_cut", "keep_before"]
    assert [name for name in needs_a_film if a[name].isEnabled()] == []
    editor.autosaver.wait()
    assert not list(controller.paths.autosave.glob("*.cmnproj"))  # discarded, as the user chose
    assert realshort.resolve() in [path.resolve() for path in controller.settings.recent_files()]
    open_video(qtbot, controller, realshort)
    qtbot.waitUntil(lambda: editor.viewer.frame_index == 0, timeout=10_000)
    assert a["close_project"].isEnabled() and editor.windowTitle() == "realshort.mp4[*] — ColorMNet Studio"
    assert timeline.frame_label.text() == "of 0–35"


def test_closing_the_project_during_a_run_asks_first(
    qtbot, editor: MainWindow, colour_frames: dict[int, Path], answers, monkeypatch  # noqa: F811
) -> None:
    controller, status, close = editor.controller, editor.status, editor.actions_by_name["close_project"]
    held = _held_runs(monkeypatch)
    try:
        _start_held_run(qtbot, editor, colour_frames)
        answers.queue.append(QMessageBox.StandardButton.Cancel)
        close.trigger()
        assert answers.asked == ["Stop colorizing?"]
        assert controller.frame_count == 36 and controller.runs.busy and not controller.runs.stopping  # as it was
        close.trigger()  # answered yes this time
        assert answers.asked == ["Stop colorizing?"] * 2 and controller.frame_count == 0 and controller.runs.stopping
        assert not status.progress_label.isVisible()
    finally:
        held.set()
    qtbot.waitUntil(lambda: not controller.runs.busy, timeout=RUN_TIMEOUT_MS)
    assert status.currentMessage() == "" and not close.isEnabled()


def test_a_film_still_opening_when_the_project_closes_stays_closed(
    qtbot, editor: MainWindow, realshort: Path, caplog  # noqa: F811
) -> None:
    controller = editor.controller
    controller.files.open_video(realshort)
    assert controller.files.opening
    with caplog.at_level("INFO", logger="app.project_files"):
        editor.commands.close_project()
        assert not controller.files.opening
        qtbot.waitUntil(lambda: "after the project was closed" in caplog.text, timeout=RUN_TIMEOUT_MS)
    assert controller.project.video is None and controller.frame_count == 0 and editor.viewer.frame_index == -1


def test_the_recovery_copy_goes_once_another_film_takes_the_project_s_place(
    qtbot, editor: MainWindow, realshort: Path, answers, tmp_path: Path  # noqa: F811
) -> None:
    controller = editor.controller
    controller.edits.set_in_point(2)
    editor.commands.write_autosave()
    copies = list(controller.paths.autosave.glob("*.cmnproj"))
    assert len(copies) == 1  # the unsaved change's recovery copy
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video" * 100)
    with qtbot.waitSignal(controller.sig_error, timeout=RUN_TIMEOUT_MS):
        editor.commands.open_path(broken)  # "Unsaved changes" answered Discard; then the film does not open
    assert answers.asked == ["Unsaved changes"] and controller.project.in_point == 2  # the project stays...
    editor.autosaver.wait()
    assert list(controller.paths.autosave.glob("*.cmnproj")) == copies  # ...and so does its recovery copy
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        editor.commands.open_path(realshort)  # Discard again: now another project takes its place
    editor.autosaver.wait()
    assert controller.project.in_point is None
    assert not list(controller.paths.autosave.glob("*.cmnproj"))  # the next start offers nothing to restore


def test_a_recent_file_no_longer_there_is_offered_for_removal(
    qtbot, controller: Controller, tmp_path: Path, answers
) -> None:
    window = show_empty_main_window(qtbot, controller)
    gone, kept = tmp_path / "moved away.mp4", tmp_path / "reel.cmnproj"
    for path in (kept, gone):
        controller.settings.add_recent(path)

    def choose(path: Path) -> None:
        window.recent_menu.aboutToShow.emit()
        [action] = [a for a in window.recent_menu.actions() if a.toolTip() == str(path)]
        action.trigger()

    choose(gone)  # answered No: it stays (its drive may come back)
    assert answers.asked == ["Not found"] and gone.resolve() in controller.settings.recent_files()
    answers.queue.append(QMessageBox.StandardButton.Yes)
    choose(gone)
    assert controller.settings.recent_files() == [kept.resolve()]
    assert controller.project.video is None  # nothing was opened, nor an error shown beside the question


def _five_frames(realshort: Path, folder: Path) -> Path:
    """A film of realshort's first five frames, as a folder of images."""
    from PIL import Image

    from colormnet.video import VideoReader

    folder.mkdir()
    with VideoReader(realshort) as reader:
        for index in range(5):
            Image.fromarray(reader.read(index)).save(folder / f"{index:03d}.png")
    return folder


def test_a_project_opened_over_a_shorter_film_checks_its_exemplars_against_its_own(
    qtbot, controller: Controller, project, colour_frames: dict[int, Path], realshort: Path, tmp_path: Path
) -> None:
    from colormnet.shots import Shot

    short = _five_frames(realshort, tmp_path / "five frames")
    project.add_exemplar(30, colour_frames[30])
    project.shots = [Shot(0, 20, "start"), Shot(20, 36, "cut")]
    project.save(tmp_path / "long.cmnproj")
    open_video(qtbot, controller, short)
    errors: list[str] = []
    controller.sig_error.connect(errors.append)
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        controller.files.open_project(tmp_path / "long.cmnproj")
    wait_for_segments(qtbot, controller, 3)  # the three exemplars in two shots, each in use
    # exemplars and shots were checked against the five frames open before: "past the end of the film", "the shot
    # list covers frames 0-35, but the video has 5 frames"
    assert errors == []
    assert controller.frame_count == 36 and [(s.start, s.stop) for s in controller.segments] == [(0, 18), (18, 20),
                                                                                                  (20, 36)]


def test_a_frame_asked_of_the_film_before_is_not_read_from_the_one_opened_after(
    qtbot, realshort: Path, tmp_path: Path
) -> None:
    from app.frame_loader import FrameLoader, FrameRequest

    short = _five_frames(realshort, tmp_path / "five frames")
    loader = FrameLoader()
    failed: list[str] = []
    shown: list[int] = []
    loader.sig_failed.connect(lambda _index, message: failed.append(message))
    loader.sig_loaded.connect(lambda frame: shown.append(frame.index))
    loader.open(1, str(realshort), None)
    loader.open(2, str(short), None)  # opened before the request below, made for the film before, was served
    loader.request(FrameRequest(30, "", video=str(realshort)))
    loader.request(FrameRequest(3, "", video=str(short)))
    qtbot.waitUntil(lambda: bool(shown), timeout=10_000)
    loader.close()
    assert failed == [] and shown == [3]  # not "Frame 30 is outside 'five frames'"
