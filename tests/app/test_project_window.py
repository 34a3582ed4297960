"""Saving and opening projects from the window: round trip, title mark, cache reuse, crash recovery."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox

from app.controller import Controller
from app.main import after_start, parse_args
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


def test_save_and_open_round_trip(
    qtbot,
    controller: Controller,
    app_settings: AppSettings,
    app_paths: AppPaths,
    random_weights: Path,
    realshort: Path,
    colour_frames: dict[int, Path],
    tmp_path: Path,
    monkeypatch,
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[18], 18, kind="reference")
    controller.set_current_frame(3)
    controller.edits.set_in_point()
    controller.set_current_frame(30)
    controller.edits.set_out_point()
    wait_for_segments(qtbot, controller, 2)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 2)
    controller.set_current_frame(12)
    assert window.isWindowModified()
    target = tmp_path / "projects" / "office.cmnproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.actions_by_name["save"].trigger()
    assert target.is_file() and not window.isWindowModified()
    assert window.status.currentMessage() == "Saved office.cmnproj."
    assert window.windowTitle().startswith("office[*]")
    assert controller.settings.recent_files()[0] == target.resolve()

    second = Controller(app_settings, app_paths, weights=random_weights)
    try:
        other = MainWindow(second)
        qtbot.addWidget(other)
        other.commands.open_path(target)
        qtbot.waitUntil(
            lambda: second.engine.model_state == "ready"
            and len(second.segments) == 2
            and all(s.key for s in second.segments),
            timeout=RUN_TIMEOUT_MS,
        )
        project = second.project
        assert [(e.frame, e.kind) for e in project.exemplars] == [(0, "auto"), (18, "reference")]
        assert all(e.image.parent == target.parent / "office_files" / "exemplars" for e in project.exemplars)
        assert (project.in_point, project.out_point) == (3, 30)
        assert project.settings == controller.project.settings
        assert second.current_frame == 12  # the playhead is where it was saved
        assert second.colorized[:2].all() and not second.colorized[2:].any()  # the cached frames are found again
        assert other.timeline.range_label.text() == "In 3 · Out 30"
        other.close()
    finally:
        second.shutdown()


def test_unsaved_changes_are_offered_for_saving(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path], answers, tmp_path: Path
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    answers.queue.append(QMessageBox.StandardButton.Cancel)
    assert not window.close()  # the user cancelled: the window stays
    assert answers.asked == ["Unsaved changes"]
    assert controller._session_thread.thread.isRunning()

    damaged = tmp_path / "damaged.cmnproj"
    damaged.write_text("{ not a project")
    errors: list[str] = []
    controller.files.sig_error.connect(errors.append)
    for unusable in (damaged, tmp_path / "missing.mp4"):  # said at once: no question about changes first
        window.commands.open_path(unusable)
    assert answers.asked == ["Unsaved changes"] and len(errors) == 1 and "damaged.cmnproj" in errors[0]
    assert controller.project.video == realshort and controller.project.dirty


@pytest.mark.parametrize("started_with", ["nothing", "a film"])
def test_crash_recovery_offers_the_autosaved_project(
    started_with: str,
    qtbot,
    controller: Controller,
    app_settings: AppSettings,
    app_paths: AppPaths,
    random_weights: Path,
    realshort: Path,
    colour_frames: dict[int, Path],
    answers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[4], 4)
    controller.edits.set_engine_settings(replace(controller.project.settings, top_k=17))
    window.commands.write_autosave()
    snapshots = list(app_paths.autosave.glob("*.cmnproj"))
    assert len(snapshots) == 1
    snapshot = snapshots[0]
    snapshot.write_text(snapshot.read_text().replace(f'"pid": {__import__("os").getpid()}', '"pid": 0'))

    second = Controller(app_settings, app_paths, weights=random_weights)
    try:
        other = MainWindow(second)
        qtbot.addWidget(other)
        if started_with == "a film":  # "Open with", a recent-files launcher: the film opens, then the offer comes
            open_video(qtbot, second, realshort)
            assert second.project.exemplars == []
        answers.queue.append(QMessageBox.StandardButton.Yes)
        offered = []
        real_offer = other.commands.offer_restore
        monkeypatch.setattr(other.commands, "offer_restore", lambda: offered.append(real_offer()))
        args = parse_args([] if started_with == "nothing" else [str(realshort)])
        with qtbot.waitSignal(second.sig_video_opened, timeout=RUN_TIMEOUT_MS):
            after_start(other, args)
        assert offered == [True]
        assert answers.asked[-1] == "Restore project?"
        assert [e.frame for e in second.project.exemplars] == [4]
        assert second.project.settings.top_k == 17
        assert other.isWindowModified()
        qtbot.waitUntil(lambda: second.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
        other.close()
        assert not snapshot.exists()  # a clean exit removes the snapshot
    finally:
        second.shutdown()


def test_save_as_suggests_a_folder_one_may_write(qtbot, controller: Controller, realshort: Path, tmp_path: Path,
                                                 monkeypatch) -> None:
    import shutil

    from app.model import paths

    window = MainWindow(controller)
    qtbot.addWidget(window)
    film = tmp_path / "films" / "reel.mp4"
    film.parent.mkdir()
    shutil.copyfile(realshort, film)
    open_video(qtbot, controller, film)
    documents = tmp_path / "Documents"
    documents.mkdir()
    monkeypatch.setattr(paths.platformdirs, "user_documents_path", lambda: documents)
    asked: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda _parent, _title, suggestion, _filters: asked.append(suggestion) or ("", ""))
    assert not window.commands.save_project_as()
    monkeypatch.setattr(paths.os, "access", lambda _path, _mode: False)  # the film on read-only archive media
    assert not window.commands.save_project_as()
    assert asked == [str(film.parent / "reel.cmnproj"), str(documents / "reel.cmnproj")]
