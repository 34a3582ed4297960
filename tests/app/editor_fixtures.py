"""Fixtures of the editor tests: the main window on realshort.mp4 with the weights-free ``propagate`` engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.controller import Controller
from app.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from tests.app.conftest import open_video


@pytest.fixture
def propagate_controller(qtbot: object, app_settings: AppSettings, app_paths: AppPaths) -> Iterator[Controller]:
    """A controller whose projects colorize with the propagate engine (no checkpoint needed)."""
    app_settings.set_engine_settings(replace(app_settings.engine_settings(), engine="propagate"))
    controller = Controller(app_settings, app_paths)
    yield controller
    controller.shutdown()


@pytest.fixture
def editor(qtbot: object, propagate_controller: Controller, realshort: Path) -> Iterator[MainWindow]:
    """The main window, shown, on realshort.mp4 with the first frame on screen and its thumbnails built."""
    window = MainWindow(propagate_controller)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    open_video(qtbot, propagate_controller, realshort)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 0, timeout=10_000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: not window.thumbnails.building, timeout=30_000)  # type: ignore[attr-defined]
    yield window
