"""Where the main window opens: the default size where the screen has room, else the screen's available geometry; a
place saved on a bigger screen brought back onto this one; ``--screenshot`` pictures at the default size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication, QScreen

from app.controller import Controller
from app.main import build_window, parse_args
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from app.widgets.window_placement import DEFAULT_SIZE, fit_rect
from tests.app.conftest import show_empty_main_window

LAPTOP = QRect(0, 0, 1366, 768)
MONITOR = QRect(0, 0, 2560, 1440)


def _screen_offers(monkeypatch: pytest.MonkeyPatch, available: QRect) -> None:
    """Every screen reports ``available`` as the room left by panels and docks."""
    monkeypatch.setattr(QScreen, "availableGeometry", lambda screen: QRect(available))


def _within(window: MainWindow, available: QRect) -> bool:
    return available.contains(window.geometry()) and available.contains(window.frameGeometry().topLeft())


def test_fit_rect_shrinks_and_moves_only_as_far_as_it_must() -> None:
    assert fit_rect(QRect(100, 50, 1400, 860), LAPTOP) == QRect(0, 0, 1366, 768)
    assert fit_rect(QRect(2000, 900, 1000, 600), LAPTOP) == QRect(366, 168, 1000, 600)
    assert fit_rect(QRect(-300, -20, 800, 500), LAPTOP) == QRect(0, 0, 800, 500)
    assert fit_rect(QRect(10, 20, 800, 500), LAPTOP) == QRect(10, 20, 800, 500)


def test_a_first_start_fits_the_offscreen_screen(qtbot, controller: Controller) -> None:
    window = show_empty_main_window(qtbot, controller)
    available = window.screen().availableGeometry()
    assert available.width() < DEFAULT_SIZE.width()  # the offscreen screen is smaller than the default
    assert _within(window, available)


def test_a_first_start_fits_a_laptop_screen(qtbot, controller: Controller, monkeypatch: pytest.MonkeyPatch) -> None:
    available = QRect(0, 0, 700, 560)  # smaller than the offscreen screen: Qt takes the offscreen screen's word
    _screen_offers(monkeypatch, available)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    assert available.contains(window.geometry()) and window.pos() == available.topLeft()
    assert window.width() > 680 and window.height() > 500  # what the screen has, less room for a frame


def test_a_first_start_on_a_big_screen_keeps_the_default_size(
    qtbot, controller: Controller, monkeypatch: pytest.MonkeyPatch
) -> None:
    _screen_offers(monkeypatch, MONITOR)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    assert window.size() == DEFAULT_SIZE


def test_a_place_saved_on_a_bigger_screen_comes_back_on_screen(
    qtbot, controller: Controller, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.setGeometry(QRect(60, 100, 780, 690))  # within the real screen, so Qt restores it unchanged
    app_settings.set_window_state(window.saveGeometry(), window.saveState())
    available = QRect(0, 0, 640, 480)  # the smaller screen of this run
    _screen_offers(monkeypatch, available)
    again = MainWindow(controller)
    qtbot.addWidget(again)
    assert available.contains(again.geometry()) and again.pos() == available.topLeft()
    assert again.width() > 620 and again.height() > 420


def test_a_saved_place_that_fits_is_kept(qtbot, controller: Controller, app_settings: AppSettings) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.setGeometry(QRect(60, 100, 600, 500))
    app_settings.set_window_state(window.saveGeometry(), window.saveState())
    again = MainWindow(controller)
    qtbot.addWidget(again)
    assert again.geometry() == QRect(60, 100, 600, 500)


def test_screenshots_are_taken_at_the_default_size_whatever_the_screen(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, random_weights: Path, tmp_path: Path
) -> None:
    assert QGuiApplication.primaryScreen().availableGeometry().width() < DEFAULT_SIZE.width()
    args = parse_args(["--weights", str(random_weights), "--screenshot", str(tmp_path / "shot.png")])
    window = build_window(args, app_paths, app_settings)
    qtbot.addWidget(window)
    try:
        assert window.size() == DEFAULT_SIZE
    finally:
        window.controller.shutdown()
