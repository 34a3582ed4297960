"""The exemplar dock grows with the window, keeping the share of its width the user gave it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow

from app.controller import Controller
from app.widgets.dock_share import DockShare
from app.widgets.main_window import MainWindow


def _side_dock_window(qtbot: object) -> tuple[QMainWindow, QDockWidget, DockShare]:
    window = QMainWindow()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.setCentralWidget(QLabel("frames", window))
    dock = QDockWidget("Exemplars", window)
    dock.setObjectName("exemplar_dock")
    dock.setWidget(QLabel("exemplars", dock))
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    share = DockShare(window, dock)
    window.resize(1400, 860)
    return window, dock, share


def _show(qtbot: object, window: QMainWindow) -> None:
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]


def _resize(qtbot: object, window: QMainWindow, width: int) -> None:
    window.resize(width, window.height())
    qtbot.waitUntil(lambda: window.width() == width)  # type: ignore[attr-defined]
    qtbot.wait(50)  # type: ignore[attr-defined]  # the dock's new width is laid out on the next pass


def _drag_dock_edge(qtbot: object, window: QMainWindow, dock: QDockWidget, dx: int) -> None:
    """Drag the separator between the central widget and the dock ``dx`` pixels across, as a person would."""
    y = dock.y() + dock.height() // 2
    x = (window.centralWidget().geometry().right() + dock.geometry().left()) // 2
    qtbot.mousePress(window, Qt.MouseButton.LeftButton, pos=QPoint(x, y))  # type: ignore[attr-defined]
    for step in range(1, 11):
        qtbot.mouseMove(window, QPoint(x + dx * step // 10, y))  # type: ignore[attr-defined]
        QApplication.processEvents()  # each move is laid out before the next, as with a hand on the mouse
    qtbot.mouseRelease(window, Qt.MouseButton.LeftButton, pos=QPoint(x + dx, y))  # type: ignore[attr-defined]


def test_the_exemplar_dock_takes_a_share_of_the_width_a_larger_window_adds(
    qtbot: object, controller: Controller
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window, before_close_func=lambda w: w.exemplars.icons.shutdown())  # type: ignore[attr-defined]
    window.resize(1400, 860)
    _show(qtbot, window)
    dock, frames = window.exemplar_dock, window.centralWidget()
    before = dock.width(), frames.width()
    _resize(qtbot, window, 2000)
    dock_gain, frames_gain = dock.width() - before[0], frames.width() - before[1]
    assert dock_gain >= 60  # a tenth of the 600 pixels added, at least
    assert frames_gain > 2 * dock_gain  # the frames keep most of it
    _resize(qtbot, window, 1400)
    assert abs(dock.width() - before[0]) <= 2  # and give it back when the window shrinks again
    _resize(qtbot, window, 900)
    assert dock.width() == before[0]  # but no more: the names and their thumbnails keep their room


def test_a_width_dragged_by_the_user_is_kept_in_proportion_and_restored(qtbot: object) -> None:
    window, dock, share = _side_dock_window(qtbot)
    _show(qtbot, window)
    narrow = dock.width()
    _drag_dock_edge(qtbot, window, dock, -150)  # wider by 150 pixels
    assert abs(dock.width() - (narrow + 150)) <= 2
    dragged = dock.width() / window.width()
    _resize(qtbot, window, 2100)
    assert abs(dock.width() - dragged * 2100) <= 2
    assert share.share is not None and abs(share.share - dragged) < 0.002

    _resize(qtbot, window, 1400)
    state = window.saveState()  # as the app saves it on closing (with the geometry), and restores it on starting
    restored_window, restored_dock, _ = _side_dock_window(qtbot)
    assert restored_window.restoreState(state)
    _show(qtbot, restored_window)
    assert abs(restored_dock.width() - dragged * 1400) <= 2
    _resize(qtbot, restored_window, 1800)
    assert abs(restored_dock.width() - dragged * 1800) <= 3


def test_the_share_is_the_docks_as_the_window_first_shows(qtbot: object) -> None:
    window, dock, share = _side_dock_window(qtbot)
    window.centralWidget().setMinimumWidth(600)
    window.resizeDocks([dock], [300], Qt.Orientation.Horizontal)
    _show(qtbot, window)
    qtbot.waitUntil(lambda: share.share is not None)  # type: ignore[attr-defined]
    shown = dock.width()
    assert abs(share.share - shown / 1400) < 0.002  # type: ignore[operator]
    # A first resize that squeezes the dock (some window systems lay the dock out before the window hears of the
    # resize) leaves the share as it was, so the dock gets its width back with the window's.
    _resize(qtbot, window, 700)
    assert dock.width() < shown
    _resize(qtbot, window, 1400)
    assert abs(dock.width() - shown) <= 2
