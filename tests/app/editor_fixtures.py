"""Fixtures of the editor tests: the main window on realshort.mp4 with the weights-free ``propagate`` engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from app.controller import Controller
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from tests.app.conftest import show_main_window


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
    window = show_main_window(qtbot, propagate_controller, realshort)
    assert isinstance(window, MainWindow)
    qtbot.waitUntil(lambda: not window.thumbnails.building, timeout=30_000)  # type: ignore[attr-defined]
    yield window
