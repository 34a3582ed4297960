"""Shots in the window: found in the background after a video opens, drawn on the timeline with each shot's state,
cuts added and removed at the playhead (undoable, kept by the project file), the next shot without an exemplar,
Colorize Shot, and the transition setting handed to the session.

The film is a montage built from the repository's clips: 20 frames of realshort.mp4, then 20 of movie.mp4 (a cut at
frame 20). The propagate engine needs no weights.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QColor, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu

from app.controller import Controller
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from app.widgets.shot_track import CUT, STATE_COLOURS, STRIP_HEIGHT
from app.widgets.timeline import SHOT_STRIP_TOP
from colormnet.shots import Shot
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar

CUT_FRAME = 20
FRAMES = 40


@pytest.fixture(scope="session")
def montage(tmp_path_factory: pytest.TempPathFactory, realshort: Path) -> Path:
    """An image folder: realshort.mp4's frames 0-19, then movie.mp4's frames 0-19 at the same size."""
    from colormnet.video import VideoReader

    folder = tmp_path_factory.mktemp("montage")
    with VideoReader(realshort) as reader:
        size = (reader.info.width, reader.info.height)
        frames = [Image.fromarray(reader.read(i)) for i in range(CUT_FRAME)]
    with VideoReader(realshort.with_name("movie.mp4")) as reader:
        frames += [Image.fromarray(reader.read(i)).resize(size) for i in range(FRAMES - CUT_FRAME)]
    for index, frame in enumerate(frames):
        frame.save(folder / f"frame{index:04d}.png")
    return folder


@pytest.fixture
def studio(qtbot, app_settings: AppSettings, app_paths: AppPaths) -> Iterator[MainWindow]:
    """The window on the propagate engine, no video open."""
    app_settings.set_engine_settings(replace(app_settings.engine_settings(), engine="propagate"))
    controller = Controller(app_settings, app_paths)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    controller.shutdown()


def _open(qtbot, window: MainWindow, path: Path) -> Controller:
    c = window.controller
    with qtbot.waitSignal(c.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        c.files.open_video(path)
    qtbot.waitUntil(lambda: c.engine.model_state == "ready" and bool(c.shot_edits.shots), timeout=RUN_TIMEOUT_MS)
    return c


def _open_with_exemplar(qtbot, window: MainWindow, path: Path, image: Path, *, playhead: int) -> Controller:
    """Open ``path``, pin ``image`` at frame 0, put the playhead at ``playhead`` and the focus on the viewer."""
    c = _open(qtbot, window, path)
    assert add_exemplar(qtbot, c, image, 0)
    c.navigate(playhead)
    window.viewer.setFocus()
    return c


def _three_shots(qtbot, window: MainWindow, montage: Path, colour_frames: dict[int, Path]) -> Controller:
    """The montage in three shots: 0-19 (exemplar at 0), 20-29 (exemplar at 25), 30-39 (none), playhead at 30."""
    c = _open_with_exemplar(qtbot, window, montage, colour_frames[0], playhead=30)
    c.shot_edits.add_cut_at_playhead()
    assert add_exemplar(qtbot, c, colour_frames[4], 25)
    return c


def _link_the_other(c: Controller) -> None:
    """Link the third shot by hand to the exemplar it does not borrow by itself."""
    chosen = next(s.exemplar_frame for s in c.segments if s.start == 30)
    c.shot_edits.link_shot(30, 0 if chosen == 25 else 25)


def _segments_respect(c: Controller, cuts: list[int]) -> bool:
    return bool(c.segments) and all(not s.start < cut < s.stop for s in c.segments for cut in cuts)


def test_shots_are_found_after_opening_and_shown_with_their_states(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path], shot_cache: Path
) -> None:
    progress: list[tuple[int, int]] = []
    studio.controller.shot_edits.sig_shot_progress.connect(lambda done, total: progress.append((done, total)))
    c = _open(qtbot, studio, montage)
    assert c.shot_edits.shots == [Shot(0, CUT_FRAME, "start"), Shot(CUT_FRAME, FRAMES, "cut")]
    assert progress[0] == (0, FRAMES) and progress[-1] == (-1, 0)  # the status bar showed it, then hid it
    assert not studio.shots.indicator.isVisible()
    assert list(shot_cache.glob("*.json"))  # the library's cache keeps the list
    assert [(s.start, s.how) for s in studio.timeline.bar.shots] == [(0, "none"), (CUT_FRAME, "none")]

    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    qtbot.waitUntil(lambda: _segments_respect(c, [CUT_FRAME]) and c.segments[-1].stop == FRAMES, timeout=30_000)
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[1].borrowed == 0, timeout=30_000)
    states = studio.timeline.bar.shots
    assert states[0].own == (0,) and states[1].how in ("similar", "nearest")
    c.navigate(30)
    assert studio.timeline.shot_label.text() == "Shot 2 of 2 · borrows frame 0"

    # drawn: a cut across the track, the first shot green, the second amber
    image = studio.timeline.bar.grab().toImage()
    bar = studio.timeline.bar
    x_cut = round(bar.x_of(CUT_FRAME))
    column = {QColor(image.pixel(x, y)).rgb() for x in (x_cut - 1, x_cut, x_cut + 1) for y in range(bar.height())}
    assert CUT.rgb() in column
    strip_y = SHOT_STRIP_TOP + STRIP_HEIGHT // 2
    assert QColor(image.pixel(round(bar.x_of(10)), strip_y)).rgb() == STATE_COLOURS["own"].rgb()
    assert QColor(image.pixel(round(bar.x_of(35)), strip_y)).rgb() == STATE_COLOURS["borrowed"].rgb()


def test_a_cut_is_added_and_removed_at_the_playhead_undoably_and_the_session_follows(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    c = _open_with_exemplar(qtbot, studio, montage, colour_frames[0], playhead=10)
    qtbot.keyClick(studio.viewer, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)  # Add Cut at Playhead
    assert [s.start for s in c.shot_edits.shots] == [0, 10, CUT_FRAME]
    assert c.project.dirty and studio.isWindowModified()
    assert [s.start for s in studio.timeline.bar.shots] == [0, 10, CUT_FRAME]
    qtbot.waitUntil(lambda: _segments_respect(c, [10, CUT_FRAME]), timeout=30_000)

    qtbot.keyClick(studio.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo
    assert [s.start for s in c.shot_edits.shots] == [0, CUT_FRAME]
    qtbot.waitUntil(lambda: any(s.start < 10 < s.stop for s in c.segments), timeout=30_000)
    qtbot.keyClick(studio.viewer, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)  # redo
    assert [s.start for s in c.shot_edits.shots] == [0, 10, CUT_FRAME]

    c.navigate(25)
    studio.actions_by_name["remove_cut"].trigger()  # removes the cut that opens the shot under the playhead
    assert c.shot_edits.shots == [Shot(0, 10, "start"), Shot(10, FRAMES, "cut")]
    qtbot.waitUntil(lambda: any(s.start < CUT_FRAME < s.stop for s in c.segments), timeout=30_000)
    assert c.history.stack.undoText() == "Remove Cut"

    errors: list[str] = []
    c.sig_error.connect(errors.append)
    c.navigate(10)
    c.shot_edits.add_cut_at_playhead()  # frame 10 already opens a shot: refused, nothing recorded
    assert errors and "already opens a shot" in errors[0]
    assert c.history.stack.undoText() == "Remove Cut"


def test_the_project_keeps_the_edited_shots_and_a_project_without_shots_finds_them(
    qtbot, studio: MainWindow, montage: Path, tmp_path: Path
) -> None:
    c = _open(qtbot, studio, montage)
    c.navigate(30)
    c.shot_edits.add_cut_at_playhead()
    edited = c.shot_edits.shots
    path = tmp_path / "film.cmnproj"
    assert c.files.save_project(path)

    progress: list[tuple[int, int]] = []
    c.shot_edits.sig_shot_progress.connect(lambda done, total: progress.append((done, total)))
    with qtbot.waitSignal(c.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert c.files.open_project(path)
    assert c.shot_edits.shots == edited  # kept, not found again
    assert progress == [] and not c.shot_edits.detection.running
    qtbot.waitUntil(lambda: _segments_respect(c, [CUT_FRAME, 30]) or not c.project.exemplars, timeout=30_000)

    data = path.read_text().replace('"shots": [', '"shots_removed": [')
    path.write_text(data)
    with qtbot.waitSignal(c.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert c.files.open_project(path)
    assert progress and progress[0] == (0, FRAMES)  # a project without shots finds them
    qtbot.waitUntil(lambda: [s.start for s in c.shot_edits.shots] == [0, CUT_FRAME], timeout=RUN_TIMEOUT_MS)


def test_a_stored_list_that_does_not_fit_the_video_is_found_again(
    qtbot, studio: MainWindow, montage: Path, tmp_path: Path
) -> None:
    c = _open(qtbot, studio, montage)
    c.project.shots = [Shot(0, 5, "start"), Shot(5, 99, "cut")]  # another cut of the film
    path = tmp_path / "other.cmnproj"
    assert c.files.save_project(path)
    errors: list[str] = []
    c.sig_error.connect(errors.append)
    with qtbot.waitSignal(c.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert c.files.open_project(path)
    assert errors and "does not fit its video" in errors[0] and "\n" not in errors[0]
    qtbot.waitUntil(lambda: [s.start for s in c.shot_edits.shots] == [0, CUT_FRAME], timeout=RUN_TIMEOUT_MS)


def test_next_shot_without_an_exemplar_and_colorize_shot(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    c = _open_with_exemplar(qtbot, studio, montage, colour_frames[0], playhead=5)
    qtbot.keyClick(studio.viewer, Qt.Key.Key_N)  # Next Shot Without an Exemplar
    assert c.current_frame == CUT_FRAME
    qtbot.keyClick(studio.viewer, Qt.Key.Key_N)  # the first shot has its own: nothing else to visit
    assert c.current_frame == CUT_FRAME

    qtbot.waitUntil(lambda: _segments_respect(c, [CUT_FRAME]) and all(s.key for s in c.segments), timeout=30_000)
    assert studio.actions_by_name["colorize_shot"].isEnabled()
    with qtbot.waitSignal(c.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        studio.actions_by_name["colorize_shot"].trigger()
    assert c.colorized[CUT_FRAME:].all() and not c.colorized[:CUT_FRAME].any()


def test_cancelling_the_detection_leaves_one_shot(
    qtbot, studio: MainWindow, montage: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("colormnet.shots.cache.default_cache_dir", lambda: tmp_path / "fresh-cache")
    c = studio.controller
    with qtbot.waitSignal(c.shot_edits.sig_shot_progress, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda d, t: d == 0):
        c.files.open_video(montage)
    assert studio.shots.indicator.isVisible() and studio.actions_by_name["stop_shots"].isEnabled()
    with qtbot.waitSignal(c.shot_edits.sig_shot_progress, timeout=RUN_TIMEOUT_MS, check_params_cb=lambda d, t: d == -1):
        studio.actions_by_name["stop_shots"].trigger()
    assert c.shot_edits.shots == [] and c.project.shots is None
    assert not studio.shots.indicator.isVisible()
    assert not (tmp_path / "fresh-cache").exists() or not list((tmp_path / "fresh-cache").glob("*.json"))
    assert studio.actions_by_name["find_shots"].isEnabled()


def test_the_transition_setting_reaches_the_session(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    from app.widgets.settings_dialog import SettingsDialog

    c = _open(qtbot, studio, montage)
    assert c.project.settings.transition == "blend"
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    assert add_exemplar(qtbot, c, colour_frames[18], 18)
    qtbot.waitUntil(lambda: len(c.segments) == 3 and all(s.key for s in c.segments), timeout=30_000)
    blend = {(s.start, s.stop): s.key for s in c.segments}
    assert set(blend) == {(0, 18), (18, CUT_FRAME), (CUT_FRAME, FRAMES)}

    dialog = SettingsDialog(c.project.settings, c.settings.cache_limit_bytes, c.engine.available_engines, studio)
    assert dialog.transition.currentData() == "blend"
    dialog.transition.setCurrentIndex(dialog.transition.findData("cut"))
    c.edits.set_engine_settings(dialog.engine_settings())
    assert c.project.settings.transition == "cut" and c.settings.engine_settings().transition == "cut"
    # frames 0-17 lie between two exemplars: blended from both, or from the first alone, so their key changes
    qtbot.waitUntil(
        lambda: len(c.segments) == 3 and all(s.key for s in c.segments) and c.key_at(5) not in ("", blend[(0, 18)]),
        timeout=RUN_TIMEOUT_MS,
    )


def test_a_shot_takes_its_colours_from_another_shot_by_hand_undoably_and_the_project_keeps_it(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path], tmp_path: Path
) -> None:
    c = _three_shots(qtbot, studio, montage, colour_frames)
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how in ("similar", "nearest"), timeout=30_000)

    own = studio.shots.build_shot_menu(10)
    assert not own.findChild(QMenu, "take_colours_menu").isEnabled()  # the shot has an exemplar of its own
    shown: list[int] = []
    studio.timeline.bar.sig_shot_menu.connect(lambda frame, where: shown.append(frame))
    bar = studio.timeline.bar
    point = QPoint(round(bar.x_of(35.5)), SHOT_STRIP_TOP + 1)
    QApplication.sendEvent(bar, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, bar.mapToGlobal(point)))
    assert shown == [35] and studio.shots.menu is not None  # right-clicking the shot offers its menu
    studio.shots.menu.close()

    other = 0
    menu = studio.shots.build_shot_menu(35)
    take = menu.findChild(QMenu, "take_colours_menu")
    assert [a.text().replace("&", "") for a in take.actions() if a.text()] == [
        "Automatic", f"Frame 0 – {colour_frames[0].name}", f"Frame 25 – {colour_frames[4].name}"]
    assert take.findChild(QAction, "colours_automatic").isChecked()
    take.findChild(QAction, f"colours_from_{other}").trigger()
    assert c.project.shot_links == {30: other}
    assert c.history.stack.undoText() == f"Take Colours from Frame {other}" and studio.isWindowModified()
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how == "linked", timeout=30_000)
    assert studio.timeline.bar.shots[2].borrowed == other
    described = studio.timeline.bar.shots[2].describe(3)
    assert described.endswith(f"borrows the exemplar at frame {other} (linked by hand)")
    c.navigate(35)
    qtbot.waitUntil(lambda: studio.timeline.shot_label.text() == "Shot 3 of 3 · borrows frame 0 (linked by hand)")
    menu = studio.shots.build_shot_menu(35)
    assert menu.findChild(QAction, f"colours_from_{other}").isChecked()

    studio.actions_by_name["undo"].trigger()  # Edit ▸ Undo
    assert c.project.shot_links == {}
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how in ("similar", "nearest"), timeout=30_000)
    studio.actions_by_name["redo"].trigger()
    assert c.project.shot_links == {30: other}
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how == "linked", timeout=30_000)

    errors: list[str] = []
    c.sig_error.connect(errors.append)
    c.shot_edits.link_shot(22, 0)  # shot 2 has its own exemplar: refused, nothing recorded
    assert errors and "cannot take its colours from frame 0" in errors[0]
    assert c.history.stack.undoText() == f"Take Colours from Frame {other}"

    path = tmp_path / "film.cmnproj"
    assert c.files.save_project(path)
    with qtbot.waitSignal(c.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        assert c.files.open_project(path)
    assert c.project.shot_links == {30: other}
    qtbot.waitUntil(lambda: len(studio.timeline.bar.shots) == 3 and studio.timeline.bar.shots[2].how == "linked",
                    timeout=30_000)

    menu = studio.shots.build_shot_menu(35)
    menu.findChild(QAction, "colours_automatic").trigger()  # back to automatic
    assert c.project.shot_links == {} and c.history.stack.undoText() == "Automatic Colours"
    c.navigate(30)
    c.shot_edits.link_shot(30, other)
    c.shot_edits.remove_cut_at_playhead()  # the linked shot joins shot 2: its link goes with it, undoably
    assert c.project.shot_links == {}
    c.history.stack.undo()
    assert c.project.shot_links == {30: other}

    # a link names an exemplar: it follows the exemplar when it moves, and goes with it, undoably
    assert c.edits.move_exemplar(other, 3)
    assert c.project.shot_links == {30: 3}
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how == "linked" and studio.timeline.bar.shots[2].borrowed == 3,
                    timeout=30_000)  # the session has the moved link: the shot still borrows, from frame 3 now
    c.history.stack.undo()
    assert c.project.shot_links == {30: other} and c.project.exemplar_at(other) is not None
    assert c.edits.move_exemplar(other, 33)  # into the linked shot, which now has an exemplar of its own
    assert c.project.shot_links == {}
    c.history.stack.undo()
    assert c.edits.remove_exemplar(other)
    assert c.project.shot_links == {}
    c.history.stack.undo()
    assert c.project.shot_links == {30: other}
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how == "linked"
                    and studio.timeline.bar.shots[2].borrowed == other, timeout=30_000)


def test_the_shots_menu_takes_colours_from_the_keyboard_for_the_shot_at_the_playhead(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    c = _three_shots(qtbot, studio, montage, colour_frames)
    take = studio.actions_by_name["take_colours"]
    shots_menu = next(a.menu() for a in studio.menuBar().actions() if a.text() == "&Shots")
    assert take in shots_menu.actions() and take.menu() is studio.shots.take_menu  # a submenu of Shots
    c.navigate(10)
    assert not take.isEnabled()  # the shot under the playhead has an exemplar of its own
    c.navigate(35)
    assert take.isEnabled()

    studio.viewer.setFocus()
    qtbot.keyClick(studio.viewer, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # opens it at the playhead
    menu = studio.shots.take_menu
    qtbot.waitUntil(menu.isVisible)
    assert [a.text().replace("&", "") for a in menu.actions() if a.text()] == [  # the right-click menu's choices
        "Automatic", f"Frame 0 – {colour_frames[0].name}", f"Frame 25 – {colour_frames[4].name}"]
    automatic = menu.findChild(QAction, "colours_automatic")
    assert automatic.isChecked() and menu.activeAction() is automatic  # the keys start from the choice in use
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Return):  # the next one, frame 0: chosen
        qtbot.keyClick(menu, key)
    assert c.project.shot_links == {30: 0}
    assert c.history.stack.undoText() == "Take Colours from Frame 0"
    qtbot.waitUntil(lambda: studio.timeline.bar.shots[2].how == "linked", timeout=30_000)
    qtbot.waitUntil(lambda: not menu.isVisible())

    menu.aboutToShow.emit()  # opened again (from the menu bar): the link in use is checked
    assert menu.findChild(QAction, "colours_from_0").isChecked()
    menu.findChild(QAction, "colours_automatic").trigger()
    assert c.project.shot_links == {} and c.history.stack.undoText() == "Automatic Colours"
    studio.actions_by_name["undo"].trigger()
    assert c.project.shot_links == {30: 0}


def test_taking_a_shot_s_colours_from_another_can_be_compared_before_and_now(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    c = _three_shots(qtbot, studio, montage, colour_frames)
    qtbot.waitUntil(lambda: len(c.segments) == 3 and all(s.key for s in c.segments), timeout=30_000)
    with qtbot.waitSignal(c.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        c.runs.colorize_all()
    _link_the_other(c)
    qtbot.waitUntil(lambda: studio.compare.bar.isVisible(), timeout=30_000)
    assert studio.compare.renders.describe() == "frames 30–39"


def test_a_cut_removed_with_the_link_of_its_shot_is_no_exemplar_edit(
    qtbot, studio: MainWindow, montage: Path, colour_frames: dict[int, Path]
) -> None:
    c = _three_shots(qtbot, studio, montage, colour_frames)
    qtbot.waitUntil(lambda: len(c.segments) == 3 and all(s.key for s in c.segments), timeout=30_000)
    _link_the_other(c)
    qtbot.waitUntil(lambda: all(s.key for s in c.segments) and c.key_at(30) != "", timeout=30_000)
    with qtbot.waitSignal(c.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        c.runs.colorize_all()
    c.navigate(30)
    c.shot_edits.remove_cut_at_playhead()  # a shot edit: the link of the shot at 30 goes with its cut
    assert c.project.shot_links == {}
    qtbot.waitUntil(lambda: len(c.segments) == 2 and all(s.key for s in c.segments), timeout=30_000)
    qtbot.wait(300)
    assert not studio.compare.bar.isVisible(), studio.compare.renders.describe()  # the shots changed, not a choice
