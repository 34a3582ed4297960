"""Opening, restoring and closing projects from the window: the range shown, the restore offer, Recent files, runs
that opening or quitting would stop."""

from __future__ import annotations

from pathlib import Path

from app.controller import Controller
from app.model import autosave
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, show_empty_main_window


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
