"""Control of the playhead: following a run and taking it back, Colorize In→Out, the go-to field, J/K/L shuttle,
the timecode ruler and the toolbar's labels."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QToolBar, QToolButton

from app.progress import Progress
from app.widgets.goto_field import parse_position
from app.widgets.main_window import MainWindow
from app.widgets.timeline import ruler_steps
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, wait_for_segments

# -- following the run, and taking the playhead back -----------------------------------------------------------


def _navigate_on_second_frame(window: MainWindow, move) -> list[int]:
    """Call ``move`` once, while the run goes on, when its second frame arrives; the playhead's frame just before."""
    before: list[int] = []

    def on_progress(progress: Progress) -> None:
        if progress.frames_done == 2 and not before:  # the steps after it report the same count of frames
            before.append(window.controller.current_frame)
            move()

    window.controller.runs.sig_progress.connect(on_progress)
    return before


@pytest.mark.parametrize("how", ["click", "key", "goto"])
def test_moving_the_playhead_during_a_run_stops_following(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], how: str
) -> None:
    c, follow = window.controller, window.actions_by_name["follow"]
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    follow.setChecked(True)
    c.navigate(5)  # while idle, moving does not turn following off
    assert c.follow_playhead
    bar = window.timeline.bar

    def move() -> None:
        if how == "click":
            qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPointF(bar.x_of(2.5), 30).toPoint())
        elif how == "key":
            qtbot.keyClick(window.viewer, Qt.Key.Key_Home)
        else:
            window.timeline.goto.start_typing()
            qtbot.keyClicks(window.timeline.goto, "9")
            qtbot.keyClick(window.timeline.goto, Qt.Key.Key_Escape)  # leaves the field; the run goes on
            assert c.runs.busy and not window.timeline.goto.hasFocus()
            window.timeline.goto.start_typing()
            qtbot.keyClicks(window.timeline.goto, "2")
            qtbot.keyClick(window.timeline.goto, Qt.Key.Key_Return)

    window.viewer.setFocus()
    before = _navigate_on_second_frame(window, move)
    with qtbot.waitSignal(c.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        c.runs.colorize_all()
    cancelled = finished.args[1]
    assert before == [0]  # until then the playhead followed the run (from frame 5 to the first frame colorized)
    expected = 0 if how == "key" else 2
    assert not cancelled
    assert c.current_frame == expected  # the frames colorized later did not take the playhead away
    assert not c.follow_playhead and not follow.isChecked()  # visibly off
    assert c.settings.follow_playhead  # the user's choice for the next runs is kept
    qtbot.keyClick(window.viewer, Qt.Key.Key_F)  # and F turns it back on
    assert c.follow_playhead and follow.isChecked()


# -- Colorize In→Out ---------------------------------------------------------------------------------------------


def test_colorize_in_out_reaches_the_range_from_its_segments_exemplar(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    c = window.controller
    assert add_exemplar(qtbot, c, colour_frames[4], 4)
    wait_for_segments(qtbot, c, 1)
    assert not window.actions_by_name["colorize_in_out"].isEnabled()  # no range yet
    c.edits.set_in_point(20)
    c.edits.set_out_point(25)
    assert window.actions_by_name["colorize_in_out"].isEnabled()
    c.set_follow_playhead(False)
    reports: list[Progress] = []
    labels: list[str] = []
    c.runs.sig_progress.connect(reports.append)
    c.runs.sig_progress.connect(lambda progress: labels.append(window.status.progress_label.text()))
    with qtbot.waitSignal(c.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name["colorize_in_out"].trigger()
    assert c.colorized[20:26].all() and not c.colorized[:20].any() and not c.colorized[26:].any()
    last = reports[-1]
    assert (last.frames_done, last.frames_total) == (6, 6)
    assert last.total == 22 and last.done == 22  # frames 4..25: the 16 before the range count in the progress
    assert re.fullmatch(r"6/6 frames · ETA 0:00 · \d+\.\d\d fps · 22/22 computed, 16 of them pre-roll", labels[-1])
    pre_roll = [r.done for r in reports if r.frames_done == 0 and r.done]
    assert pre_roll and max(pre_roll) >= 15  # the progress moved while the frames before the range were computed
    assert "the 16 more (pre-roll) carry the exemplar's colours" in window.status.progress_label.toolTip()


def test_colorize_in_out_without_a_range_says_what_to_do(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    c = window.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    with qtbot.waitSignal(c.sig_error) as error:
        c.runs.colorize_in_out()
    assert "set them with I and O" in error.args[0]
    assert not c.runs.busy


# -- the go-to field -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "frame"),
    [
        ("192", 192),
        (" 7 ", 7),
        ("00:00:08:00", 240),
        ("00:01:00:05", 1805),
        ("08:12", 252),
        ("1:02:03", 30 * 62 + 3),
        ("12.5s", 375),
        ("12.5", 375),
        ("3s", 90),
        (".5", 15),
    ],
)
def test_positions_the_go_to_field_reads(text: str, frame: int) -> None:
    assert parse_position(text, 30.0) == frame


@pytest.mark.parametrize("text", ["", "abc", "-3", "00:00:01:30", "00:61:00:00", "1e9999", "nan", "12..5", "1:2:3:4:5"])
def test_what_the_go_to_field_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"frame number|timecode"):
        parse_position(text, 30.0)


def test_typing_digits_into_the_go_to_field_fires_no_shortcut(qtbot, window: MainWindow) -> None:
    c, field = window.controller, window.timeline.goto
    window.set_view_mode("side_by_side")
    qtbot.keyClick(window.viewer, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)  # Ctrl+G: to the field
    assert field.hasFocus()
    qtbot.keyClicks(field, "12")
    assert window.viewer.mode == "side_by_side"  # "1" and "2" are the view shortcuts elsewhere
    qtbot.keyClicks(field, "3ILJKFO ")
    assert window.viewer.mode == "side_by_side" and c.project.in_point is None and window.shuttle.speed == 0
    field.setText("12")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert c.current_frame == 12 and field.text() == "12"
    assert window.viewer.hasFocus()  # back to the frames, where the one-key shortcuts work again
    assert window.timeline.timecode_label.text() == "00:00:00:12"

    field.setFocus()
    field.setText("00:00:01:00")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert c.current_frame == 30

    field.setFocus()
    field.setText("half past")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert c.current_frame == 30 and "is not a frame number or a timecode" in window.statusBar().currentMessage()
    assert field.hasFocus()  # to correct it

    field.setText("999")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert c.current_frame == 35 and "the last frame is 35" in window.statusBar().currentMessage()

    field.setFocus()
    field.setText("half past")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    field.setText("20")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert c.current_frame == 20 and window.statusBar().currentMessage() == ""  # the refusal no longer holds
    window.statusBar().showMessage("another note")
    field.setFocus()
    field.setText("35")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert window.statusBar().currentMessage() == "another note"  # only a refusal of its own is taken away

    window.actions_by_name["goto_frame"].trigger()
    field.setText("4")
    qtbot.keyClick(field, Qt.Key.Key_Escape)  # gives up: the playhead stays
    assert c.current_frame == 35 and window.viewer.hasFocus() and field.text() == "35"


# -- J/K/L shuttle -------------------------------------------------------------------------------------------------


def test_jkl_shuttle(qtbot, window: MainWindow) -> None:
    c, shuttle = window.controller, window.shuttle
    window.viewer.setFocus()
    speeds = []
    for key in (Qt.Key.Key_L, Qt.Key.Key_L, Qt.Key.Key_L, Qt.Key.Key_L, Qt.Key.Key_L):
        qtbot.keyClick(window.viewer, key)
        speeds.append(shuttle.speed)
    assert speeds == [1, 2, 4, 8, 8]
    assert window.actions_by_name["play"].isChecked()
    qtbot.waitUntil(lambda: c.current_frame == 35, timeout=10_000)  # 8x to the end
    qtbot.waitUntil(lambda: shuttle.speed == 0, timeout=10_000)  # and stops there
    assert not window.actions_by_name["play"].isChecked()

    qtbot.keyClick(window.viewer, Qt.Key.Key_J)
    assert shuttle.speed == -1
    qtbot.waitUntil(lambda: c.current_frame <= 33, timeout=10_000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_J)
    assert shuttle.speed == -2
    qtbot.keyClick(window.viewer, Qt.Key.Key_K)
    assert shuttle.speed == 0
    stopped = c.current_frame
    qtbot.wait(150)
    assert c.current_frame == stopped
    qtbot.keyClick(window.viewer, Qt.Key.Key_J)
    qtbot.keyClick(window.viewer, Qt.Key.Key_L)  # the other way: turns round at 1x
    assert shuttle.speed == 1 and window.actions_by_name["play"].isChecked()
    qtbot.keyClick(window.viewer, Qt.Key.Key_J)  # and back, while playing forwards
    assert shuttle.speed == -1 and not window.actions_by_name["play"].isChecked()
    moving = c.current_frame
    qtbot.waitUntil(lambda: c.current_frame < moving, timeout=10_000)
    qtbot.keyClick(window.viewer, Qt.Key.Key_K)
    qtbot.keyClick(window.viewer, Qt.Key.Key_Home)
    qtbot.keyClick(window.viewer, Qt.Key.Key_J)  # at the first frame: nothing to play
    qtbot.waitUntil(lambda: shuttle.speed == 0, timeout=10_000)
    assert c.current_frame == 0


def test_the_status_bar_stops_saying_playing_once_stopped(qtbot, window: MainWindow) -> None:
    status = window.statusBar()
    window.viewer.setFocus()
    qtbot.keyClick(window.viewer, Qt.Key.Key_L)
    assert status.currentMessage().startswith("Playing forwards at 1x")
    qtbot.keyClick(window.viewer, Qt.Key.Key_K)
    assert window.shuttle.speed == 0 and not status.currentMessage().startswith("Playing")
    window.controller.navigate(window.controller.frame_count - 3)
    qtbot.keyClick(window.viewer, Qt.Key.Key_L)
    assert status.currentMessage().startswith("Playing forwards")
    qtbot.waitUntil(lambda: window.shuttle.speed == 0, timeout=10_000)  # stopped at the last frame
    assert not status.currentMessage().startswith("Playing")


# -- the ruler and the toolbar -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "fps", "width", "major", "minor"),
    [
        (36, 30.0, 1000, 5, 1),  # 27.8 px a frame: a label every 5 frames
        (288, 24.0, 1200, 48, 12),  # a second is 100 px, too close: every two seconds
        (100_000, 25.0, 1000, 25 * 600, 25 * 60),  # a long film: every ten minutes
    ],
)
def test_ruler_steps(count: int, fps: float, width: float, major: int, minor: int) -> None:
    assert ruler_steps(count, fps, width) == (major, minor)
    assert major * width / count >= 110 and minor * width / count >= 6  # neither labels nor ticks crowd


def test_the_timeline_has_a_timecode_ruler(window: MainWindow) -> None:
    bar = window.timeline.bar
    labels = bar.ruler_labels()
    assert labels[0] == (0, "00:00:00:00")
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d:\d\d", text) for _, text in labels)
    assert len(labels) >= 2
    frames = [frame for frame, _ in labels]
    assert len({b - a for a, b in itertools.pairwise(frames)}) == 1  # evenly spaced
    image = bar.grab().toImage()
    assert any(image.pixelColor(x, 4) != image.pixelColor(0, 4) for x in range(bar.width()))  # drawn


def test_toolbar_names_colorize_and_tells_in_from_out(window: MainWindow) -> None:
    window.resize(2000, 860)  # room for every label (a narrower window shows the icons alone)
    QApplication.processEvents()
    toolbar = window.findChild(QToolBar, "main_toolbar")
    texts = {
        button.defaultAction().objectName(): button.text()
        for button in toolbar.findChildren(QToolButton)
        if button.defaultAction() is not None and button.toolButtonStyle() != Qt.ToolButtonStyle.ToolButtonIconOnly
    }
    shown = {
        name: texts[name]
        for name in texts
        if window.actions_by_name.get(name) is not None
        and window.actions_by_name[name].priority() != window.actions_by_name[name].Priority.LowPriority
    }
    assert shown["colorize_all"] == "Colorize All" and shown["colorize_in_out"] == "Colorize In→Out"
    assert shown["in_point"] == "In" and shown["out_point"] == "Out"
    a = window.actions_by_name
    in_image = a["in_point"].icon().pixmap(24, 24).toImage()
    out_image = a["out_point"].icon().pixmap(24, 24).toImage()
    assert in_image != out_image
