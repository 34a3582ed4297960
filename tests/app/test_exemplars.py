"""Exemplar editing in the window: add from a file, the clipboard or a drop; refuse bad images; swap, move,
remove and pin; an edit invalidates only the frames of the segments the exemplar governs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog, QInputDialog

from app.controller import Controller
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


@pytest.fixture
def window(qtbot, controller: Controller, realshort: Path) -> MainWindow:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    return window


def drop_on(viewer: object, mime: QMimeData) -> None:
    event = QDropEvent(
        QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    viewer.dropEvent(event)  # type: ignore[attr-defined]


def test_unreadable_and_grayscale_images_are_refused(
    qtbot, window: MainWindow, tmp_path: Path, gray_image: Path
) -> None:
    controller = window.controller
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    assert not add_exemplar(qtbot, controller, broken, 0)
    assert window.last_message is not None and window.last_message.isVisible()
    assert "broken.png" in window.last_message.text()
    assert not add_exemplar(qtbot, controller, gray_image, 0)
    assert "gray" in window.last_message.text().lower()
    assert controller.project.exemplars == []
    folder = controller.project.exemplars_dir
    assert not folder.exists() or not any(folder.iterdir())  # nothing was copied into the project


def test_file_dialogs_open_near_the_film_then_where_the_last_image_came_from(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch
) -> None:
    controller = window.controller
    started_in: list[str] = []

    def choose(parent, title, folder, filters):
        started_in.append(folder)
        return str(colour_frames[0]), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", choose)
    for frame in (0, 4):
        controller.set_current_frame(frame)
        with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
            window.actions_by_name["add_exemplar"].trigger()
    assert controller.project.video is not None and colour_frames[0].parent != controller.project.video.parent
    assert started_in == [str(controller.project.video.parent), str(colour_frames[0].parent)]


def test_add_from_file_clipboard_and_drop(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch
) -> None:
    controller = window.controller
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(colour_frames[0]), ""))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name["add_exemplar"].trigger()
    controller.set_current_frame(4)
    QGuiApplication.clipboard().setImage(QImage(str(colour_frames[4])))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name["paste_exemplar"].trigger()
    controller.set_current_frame(30)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(colour_frames[30]))])
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        drop_on(window.viewer, mime)
    controller.set_current_frame(20)
    mime = QMimeData()
    mime.setImageData(QImage(str(colour_frames[18])))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        drop_on(window.viewer, mime)
    assert [(e.frame, e.name) for e in controller.project.exemplars] == [
        (0, "frame00.png"),
        (4, "clipboard"),
        (20, "dropped image"),
        (30, "frame30.png"),
    ]
    assert window.exemplars.list.count() == 4
    assert window.windowTitle().startswith("realshort.mp4[*]") and window.isWindowModified()
    wait_for_segments(qtbot, controller, 4)
    assert [(s.start, s.stop) for s in controller.segments] == [(0, 4), (4, 20), (20, 30), (30, 36)]
    assert [f for f, _ in window.timeline.bar.markers] == [0, 4, 20, 30]
    QGuiApplication.clipboard().clear()
    window.actions_by_name["paste_exemplar"].trigger()
    assert "clipboard holds no image" in window.last_message.text()  # type: ignore[union-attr]


def test_swap_invalidates_only_its_segment(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch
) -> None:
    controller = window.controller
    for frame in (0, 4, 30):
        add_exemplar(qtbot, controller, colour_frames[frame], frame)
    wait_for_segments(qtbot, controller, 3)
    for start, stop in ((0, 4), (30, 36)):
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
            controller.runs.colorize_range(start, stop)
    expected = np.zeros(36, bool)
    expected[0:4] = expected[30:36] = True
    np.testing.assert_array_equal(controller.colorized, expected)
    keys = [s.key for s in controller.segments]

    window.exemplars.select_frame(30)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(colour_frames[18]), ""))
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name["replace_exemplar"].trigger()
    qtbot.waitUntil(lambda: controller.segments[2].key not in ("", keys[2]), timeout=RUN_TIMEOUT_MS)
    # blended transitions: the segments that name the swapped exemplar change (the one before it too), no other
    assert controller.segments[0].key == keys[0] and controller.segments[1].key != keys[1]
    expected[30:36] = False
    np.testing.assert_array_equal(controller.colorized, expected)

    # Pinning a colorized frame splits its segment: the frames between the pin and its neighbouring exemplars blend
    # the new exemplar in and are computed again; the frames beyond them keep their colours.
    controller.set_current_frame(2)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as pinned:
        window.actions_by_name["pin_frame"].trigger()
    assert pinned.args == [True]
    assert controller.project.exemplar_at(2).kind == "keyframe"  # type: ignore[union-attr]
    wait_for_segments(qtbot, controller, 4)
    expected[0:4] = False
    np.testing.assert_array_equal(controller.colorized, expected)
    controller.set_current_frame(10)
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as pinned:
        controller.edits.pin_current_frame()
    assert pinned.args == [False]
    assert "not colorized yet" in window.last_message.text()  # type: ignore[union-attr]


def test_move_remove_and_kind(qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch) -> None:
    controller = window.controller
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[18], 18)
    window.exemplars.select_frame(18)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args, **kwargs: (25, True))
    window.actions_by_name["move_exemplar"].trigger()
    assert [e.frame for e in controller.project.exemplars] == [0, 25]
    assert window.exemplars.selected_frame() == 25
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args, **kwargs: (0, True))
    window.actions_by_name["move_exemplar"].trigger()
    assert "already has an exemplar" in window.last_message.text()  # type: ignore[union-attr]
    combo = window.exemplars.kind
    combo.setCurrentIndex(combo.findData("reference"))
    combo.activated.emit(combo.currentIndex())
    assert controller.project.exemplar_at(25).kind == "reference"  # type: ignore[union-attr]
    assert "reference" in window.exemplars.list.currentItem().text()
    window.actions_by_name["remove_exemplar"].trigger()
    assert [e.frame for e in controller.project.exemplars] == [0]
    wait_for_segments(qtbot, controller, 1)
    assert (controller.segments[0].start, controller.segments[0].stop) == (0, 36)


def test_the_exemplar_at_the_playhead_is_the_one_the_exemplar_commands_act_on(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    controller = window.controller
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[18], 18)
    window.exemplars.select_frame(0)
    controller.navigate(18)  # the exemplar at frame 18 is on screen
    assert window.exemplars.selected_frame() == 18
    window.actions_by_name["remove_exemplar"].trigger()  # Exemplars > Remove Exemplar
    assert [e.frame for e in controller.project.exemplars] == [0]
    controller.navigate(10)  # no exemplar here: the selection stays
    assert window.exemplars.selected_frame() == 0
    controller.navigate(25)
    add_exemplar(qtbot, controller, colour_frames[18], 25)  # added where the playhead stands: selected
    assert window.exemplars.selected_frame() == 25
    window.exemplars.select_frame(0)  # chosen in the list: another edit leaves the choice alone
    add_exemplar(qtbot, controller, colour_frames[18], 30)
    assert window.exemplars.selected_frame() == 0
