"""The window's keyboard, playback, viewer modes, tooltips and the settings and help dialogs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from app.widgets.main_window import MainWindow
from app.widgets.settings_dialog import SettingsDialog
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, show_empty_main_window


def press(
    qtbot, window: MainWindow, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    qtbot.keyClick(window.viewer, key, modifier)


def test_keyboard_navigation(qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch) -> None:
    controller = window.controller
    window.viewer.setFocus()
    press(qtbot, window, Qt.Key.Key_Right)
    assert controller.current_frame == 1
    press(qtbot, window, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    assert controller.current_frame == 11
    press(qtbot, window, Qt.Key.Key_Left)
    assert controller.current_frame == 10
    press(qtbot, window, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    assert controller.current_frame == 0
    press(qtbot, window, Qt.Key.Key_Left)
    assert controller.current_frame == 0  # clamped
    press(qtbot, window, Qt.Key.Key_End)
    assert controller.current_frame == 35
    assert window.timeline.goto.text() == "35"
    assert window.timeline.frame_label.text() == "of 0–35"
    assert window.timeline.timecode_label.text() == "00:00:01:05"
    press(qtbot, window, Qt.Key.Key_Home)
    press(qtbot, window, Qt.Key.Key_Right)
    press(qtbot, window, Qt.Key.Key_I)
    press(qtbot, window, Qt.Key.Key_End)
    press(qtbot, window, Qt.Key.Key_O)
    assert (controller.project.in_point, controller.project.out_point) == (1, 35)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 35, timeout=10_000)  # the viewer follows the keys
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(colour_frames[30]), ""))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        press(qtbot, window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert [e.frame for e in controller.project.exemplars] == [35]


def test_the_frame_row_says_no_video_is_open_until_one_is(qtbot, controller, realshort: Path) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    row = window.timeline
    assert row.frame_label.text() == "No video open"
    assert row.frame_caption.isHidden() and row.goto.isHidden() and row.timecode_label.isHidden()
    open_video(qtbot, controller, realshort)
    assert row.frame_label.text() == "of 0–35" and row.goto.text() == "0"
    assert row.frame_caption.isVisible() and row.goto.isVisible() and row.timecode_label.text() == "00:00:00:00"


def test_space_plays_at_the_source_rate_and_stops(qtbot, window: MainWindow) -> None:
    controller = window.controller
    assert window.shuttle.interval_ms == 33  # realshort.mp4 runs at 29.97 fps
    window.viewer.setFocus()
    press(qtbot, window, Qt.Key.Key_Space)
    assert window.actions_by_name["play"].isChecked()
    qtbot.waitUntil(lambda: controller.current_frame >= 5, timeout=10_000)
    press(qtbot, window, Qt.Key.Key_Space)
    stopped_at = controller.current_frame
    qtbot.wait(200)
    assert controller.current_frame == stopped_at
    controller.set_current_frame(33)
    press(qtbot, window, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not window.actions_by_name["play"].isChecked(), timeout=10_000)  # stops at the end
    assert controller.current_frame == 35


def test_every_action_has_an_icon_and_shortcut_tooltips(window: MainWindow) -> None:
    for name, action in window.actions_by_name.items():
        assert not action.icon().isNull(), name
        if not action.shortcut().isEmpty():
            assert action.shortcut().toString() in action.toolTip(), name
    assert window.actions_by_name["next_frame"].toolTip() == "One frame forward (Right)"
    assert "Ctrl+E" in window.actions_by_name["add_exemplar"].toolTip()


def _mnemonic(text: str) -> str | None:
    """The key that Alt or the open menu takes for ``text`` (``"Re&do"`` -> ``"d"``), None without one."""
    at = text.replace("&&", "").find("&")
    return text.replace("&&", "")[at + 1].lower() if at >= 0 else None


def test_menu_mnemonics_are_unique_in_the_bar_and_in_each_menu(window: MainWindow) -> None:
    menus = [action.menu() for action in window.menuBar().actions() if action.menu() is not None]
    bar = [_mnemonic(menu.title()) for menu in menus]
    assert None not in bar and len(set(bar)) == len(bar), bar  # Alt+letter opens exactly one menu
    for menu in menus:
        keys = [_mnemonic(item.text()) for item in menu.actions() if not item.isSeparator()]
        taken = [key for key in keys if key is not None]
        assert len(set(taken)) == len(taken), (menu.title(), keys)  # a letter picks one item, not the first of two


def test_no_shortcut_takes_the_alt_letter_of_a_menu(window: MainWindow) -> None:
    from PySide6.QtGui import QKeySequence

    bar = {f"Alt+{_mnemonic(a.menu().title()).upper()}" for a in window.menuBar().actions() if a.menu() is not None}
    for name, action in window.actions_by_name.items():
        for sequence in action.shortcuts():
            key = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            assert key not in bar, (name, key)  # both would be ambiguous: neither the menu nor the action would come


def test_no_two_actions_share_a_key(qtbot, controller) -> None:
    from PySide6.QtGui import QKeySequence

    window = show_empty_main_window(qtbot, controller)
    owner: dict[str, str] = {}
    for name, action in window.actions_by_name.items():  # undo and redo with their standard keys included
        for sequence in action.shortcuts():
            key = sequence.toString(QKeySequence.SequenceFormat.PortableText)
            assert key not in owner, (key, owner.get(key), name)  # an ambiguous key fires neither action
            owner[key] = name
    assert {"Ctrl+Z", "Ctrl+Y", "Ctrl+W"} <= owner.keys()


def test_the_exemplar_edits_and_keeping_a_render_have_keys(qtbot, controller) -> None:
    window = show_empty_main_window(qtbot, controller)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)  # shortcuts reach the active window only
    window.viewer.setFocus()
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    keys = {
        "replace_exemplar": (Qt.Key.Key_R, ctrl),
        "move_exemplar": (Qt.Key.Key_G, ctrl | shift),
        "keep_before": (Qt.Key.Key_B, shift),
        "keep_now": (Qt.Key.Key_N, shift),
    }
    fired: list[str] = []
    for name, (key, modifiers) in keys.items():
        action = window.actions_by_name[name]
        action.setEnabled(True)  # as with an exemplar selected, or renders to compare (with no film they do nothing)
        action.triggered.connect(lambda *_, name=name: fired.append(name))
        qtbot.keyClick(window.viewer, key, modifiers)
    assert fired == list(keys)


def test_esc_says_at_once_that_the_run_is_stopping(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    from app.progress import Progress

    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    window.viewer.setFocus()
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_all()
        qtbot.waitUntil(window.actions_by_name["cancel"].isEnabled, timeout=RUN_TIMEOUT_MS)  # the run is on screen
        press(qtbot, window, Qt.Key.Key_Escape)
        assert window.status.progress_label.text().startswith("Cancelling…")
        window.status.show_progress(Progress(3, 36, 2.0, 16.5, 3, 36))  # a frame that was under way lands
        assert window.status.progress_label.text().startswith("Cancelling…")
    assert finished.args == ["colorize", True]
    assert window.status.currentMessage() == "Cancelled."


def test_a_run_that_waits_for_the_model_says_so(window: MainWindow) -> None:
    status = window.status
    status.progress_bar.setRange(0, 36)  # a finished earlier run's bar
    status.run_started("colorize", loading=True)
    assert status.progress_label.text() == "Loading the model…"
    assert (status.progress_bar.minimum(), status.progress_bar.maximum()) == (0, 0)  # busy, not the old count
    status.show_model_state("loading")
    assert status.progress_label.text() == "Loading the model…"
    status.show_model_state("ready")
    assert status.progress_label.text() == "Colorizing…"
    status.run_finished("colorize", cancelled=False)
    status.run_started("export")
    assert status.progress_label.text() == "Exporting…"


def test_status_bar_shows_the_video_and_device(qtbot, window: MainWindow) -> None:
    assert window.status.video_label.text() == "36 frames · 30.020 fps · 320×240 · 0:01 · 8-bit mp4"
    assert window.status.device_label.text() == "ColorMNet · CPU · fp32 (random weights)"
    message = "'abc' is not a frame number or a timecode. Type a frame number (192), a timecode HH:MM:SS:FF or 12.5s."
    window.status.showMessage(message)  # a long message takes the video's room, and shows whole as the tooltip
    assert window.status.video_label.isHidden() and window.status.toolTip() == message
    window.status.clearMessage()
    assert not window.status.video_label.isHidden() and window.status.toolTip() == ""


def test_view_modes_zoom_and_pan_in_step(qtbot, window: MainWindow) -> None:
    viewer = window.viewer
    viewer.resize(1000, 500)
    left, right = viewer.panes()
    assert left.width() == pytest.approx(right.width())
    assert viewer.image_rect(left).size() == viewer.image_rect(right).size()
    window.actions_by_name["actual_size"].trigger()
    assert viewer.zoom == 1.0
    viewer.pan_by(40, -10)
    a, b = viewer.image_rect(left), viewer.image_rect(right)
    assert a.left() - left.left() == pytest.approx(b.left() - right.left())  # both sides moved together
    assert a.top() == pytest.approx(b.top())
    window.actions_by_name["zoom_in"].trigger()
    assert viewer.zoom == pytest.approx(1.25)
    window.actions_by_name["fit"].trigger()
    assert viewer.zoom == pytest.approx(min(left.width() / 320, left.height() / 240))
    window.actions_by_name["wipe"].trigger()
    assert viewer.mode == "wipe" and len(viewer.panes()) == 1
    assert window.actions_by_name["wipe"].isChecked() and not window.actions_by_name["side_by_side"].isChecked()
    rect = viewer.image_rect(viewer.panes()[0])
    x = rect.left() + rect.width() / 2
    y = rect.center().y()
    qtbot.mousePress(viewer, Qt.MouseButton.LeftButton, pos=QPointF(x, y).toPoint())
    qtbot.mouseMove(viewer, QPointF(rect.left() + rect.width() * 0.25, y).toPoint())
    qtbot.mouseRelease(viewer, Qt.MouseButton.LeftButton, pos=QPointF(rect.left() + rect.width() * 0.25, y).toPoint())
    assert viewer.wipe_position == pytest.approx(0.25, abs=0.01)
    window.actions_by_name["color_only"].trigger()
    assert viewer.mode == "color_only" and window.controller.settings.view_mode == "color_only"
    assert not viewer.has_color  # frame 0 is not colorized: the placeholder is drawn
    image = viewer.grab().toImage()
    centre = image.pixelColor(image.width() // 2, image.height() // 2 + 40)
    assert centre.red() == centre.green() == centre.blue()  # the placeholder is neutral gray


def test_timeline_scrubbing(qtbot, window: MainWindow) -> None:
    bar = window.timeline.bar
    bar.resize(720, bar.height())
    target = bar.x_of(20.5)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=QPointF(target, 20).toPoint())
    assert window.controller.current_frame == 20
    qtbot.waitUntil(lambda: window.viewer.frame_index == 20, timeout=10_000)


def test_settings_dialog_applies_and_validates(qtbot, window: MainWindow) -> None:
    controller = window.controller
    qtbot.waitUntil(lambda: controller.engine.engine_ready, timeout=RUN_TIMEOUT_MS)
    assert controller.engine.available_engines[0] == "colormnet" and "propagate" in controller.engine.available_engines
    dialog = SettingsDialog(
        controller.project.settings, controller.settings.cache_limit_bytes, controller.engine.available_engines, window
    )
    qtbot.addWidget(dialog)
    assert [dialog.engine.itemData(i) for i in range(dialog.engine.count())] == controller.engine.available_engines
    dialog.memory["min_mid_term_frames"].setValue(9)
    dialog.memory["max_mid_term_frames"].setValue(5)
    dialog._on_buttons_accepted()
    assert "min_mid_term_frames" in dialog.problem.text() and not dialog.advanced.isHidden()
    dialog.memory["max_mid_term_frames"].setValue(12)
    dialog.process_size.setValue(224)
    with qtbot.waitSignal(
        controller.engine.sig_model_state, check_params_cb=lambda s: s == "ready", timeout=RUN_TIMEOUT_MS
    ):
        window.commands.show_settings_dialog()
        window.commands.settings_dialog.process_size.setValue(224)
        window.commands.settings_dialog.memory["min_mid_term_frames"].setValue(4)
        window.commands.settings_dialog._on_buttons_accepted()
    assert controller.project.settings.process_size == 224
    assert controller.project.settings.min_mid_term_frames == 4
    assert controller.settings.engine_settings().process_size == 224  # remembered for the next project
    assert window.isWindowModified()


def test_help_dialogs(qtbot, window: MainWindow, app_paths) -> None:
    import logging

    app_paths.log_file.parent.mkdir(parents=True, exist_ok=True)
    app_paths.log_file.write_text("first line\nthe last line\n")
    window.actions_by_name["log"].trigger()
    dialogs = [w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Log file" and w.isVisible()]
    assert dialogs and "the last line" in dialogs[0].view.toPlainText()
    dialogs[0].close()
    window.actions_by_name["about"].trigger()
    about = [w for w in QApplication.topLevelWidgets() if w.windowTitle() == "About ColorMNet Studio" and w.isVisible()]
    assert about
    text = about[0].text.text()
    assert "CC BY-NC-SA 4.0" in text and "PySide6" in text and "cpu" in text
    about[0].close()
    logging.getLogger(__name__).debug("help dialogs checked")


def test_delete_removes_an_exemplar_only_from_the_panel(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    window.viewer.setFocus()
    qtbot.keyClick(window.viewer, Qt.Key.Key_Delete)
    assert [e.frame for e in controller.project.exemplars] == [0]  # Delete over the viewer does nothing
    window.exemplars.list.setFocus()
    qtbot.keyClick(window.exemplars.list, Qt.Key.Key_Delete)
    assert controller.project.exemplars == []


def test_playhead_stays_when_not_following_and_status_shows_progress(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    window.actions_by_name["follow"].setChecked(False)
    assert controller.settings.follow_playhead is False
    controller.set_current_frame(10)
    labels: list[str] = []
    controller.runs.sig_progress.connect(lambda progress: labels.append(window.status.progress_label.text()))
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 3)
    assert controller.current_frame == 10  # the playhead stayed
    assert controller.colorized[:3].all()
    assert re.fullmatch(r"3/3 frames · ETA 0:00 · \d+\.\d\d fps", labels[-1]), labels
    assert not window.status.progress_bar.isVisible()
    assert window.status.currentMessage() == "Colorization finished."


def test_drop_a_video_and_the_recent_files_menu(qtbot, window: MainWindow, tmp_path: Path) -> None:
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    controller = window.controller
    other = tmp_path / "copy.mp4"
    other.write_bytes(controller.project.video.read_bytes())  # type: ignore[union-attr]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    event = QDropEvent(
        QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        window.viewer.dropEvent(event)
    assert controller.project.video == other.resolve()
    window.commands.recent_menu.aboutToShow.emit()
    names = [action.text() for action in window.commands.recent_menu.actions() if action.text()]
    assert names[0] == "copy.mp4" and "Clear list" in names


def test_status_bar_names_the_stored_bit_depth(window: MainWindow) -> None:
    """A 10-bit ProRes master is read at 16 bits but was stored at 10: the status bar says 10-bit."""
    from dataclasses import replace

    from app.widgets.status_bar import describe_video

    info = window.controller.video_info
    assert info is not None and info.bit_depth == 8
    graded = replace(info, path="graded.mov", bit_depth=16, stored_bit_depth=10)
    assert describe_video(graded).endswith("· 10-bit mov")
