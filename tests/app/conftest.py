"""Fixtures of the GUI tests: offscreen Qt, isolated settings and folders, a controller on a random checkpoint.

Every test fails if it leaves a worker thread running or if Qt logs a warning; message boxes that would block are
answered by :func:`answers` instead of a person.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from app.controller import Controller
from app.model.engine_settings import EngineSettings
from app.model.paths import AppPaths
from app.model.project import Project
from app.settings import AppSettings
from app.worker import running_threads

if TYPE_CHECKING:
    from app.widgets.main_window import MainWindow

RUN_TIMEOUT_MS = 120_000
# Qt messages that say nothing about our code (the offscreen platform lacks some window-manager features).
_BENIGN_QT_MESSAGES = ("This plugin does not support", "QFont::setPointSize", "Fontconfig")


@pytest.fixture(autouse=True)
def no_thread_left_running() -> Iterator[None]:
    """Fail a test that leaves a worker QThread running."""
    yield
    left = [thread.objectName() for thread in running_threads()]
    assert not left, f"threads still running after the test: {left}"


@pytest.fixture(autouse=True)
def no_qt_warnings(qtlog: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which Qt logged a warning or worse."""
    yield
    from PySide6.QtCore import QtMsgType

    bad = [
        record.message
        for record in qtlog.records  # type: ignore[attr-defined]
        if record.type in (QtMsgType.QtWarningMsg, QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg)
        and not any(benign in record.message for benign in _BENIGN_QT_MESSAGES)
    ]
    assert not bad, f"Qt warnings: {bad}"


class Answers:
    """Stands in for the person answering QMessageBox.question: queued answers first, then a safe default."""

    def __init__(self) -> None:
        self.queue: list[QMessageBox.StandardButton] = []
        self.asked: list[str] = []

    def __call__(self, parent: object, title: str, text: str, buttons: object = None, default: object = None) -> object:
        self.asked.append(title)
        if self.queue:
            return self.queue.pop(0)
        offered = QMessageBox.StandardButton(buttons) if buttons is not None else QMessageBox.StandardButton.No
        if offered & QMessageBox.StandardButton.Discard:
            return QMessageBox.StandardButton.Discard
        return QMessageBox.StandardButton.No


@pytest.fixture(autouse=True)
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    """Answers to the questions the app asks (replace the file? save changes? restore?)."""
    answering = Answers()
    monkeypatch.setattr(QMessageBox, "question", answering)
    return answering


@pytest.fixture(autouse=True)
def no_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app behaves alike on every CPU in the tests: previews at the precision set, whatever this CPU computes
    natively (the tests of bf16 previews say otherwise)."""
    from colormnet.engines import precision as engines

    monkeypatch.setattr(engines, "native_cpu_bf16", lambda: False)


@pytest.fixture(scope="session")
def shot_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shot-list cache shared by the session's tests (detecting a clip's shots once is enough)."""
    return tmp_path_factory.mktemp("shot-cache")


@pytest.fixture(autouse=True)
def private_shot_cache(monkeypatch: pytest.MonkeyPatch, shot_cache: Path) -> Path:
    """The shot lists the app finds go to a test folder, never to the user's cache."""
    monkeypatch.setattr("colormnet.shots.cache.default_cache_dir", lambda: shot_cache)
    return shot_cache


@pytest.fixture
def app_paths(tmp_path: Path) -> AppPaths:
    """The app's own folders inside the test's temporary folder."""
    return AppPaths.under(tmp_path / "studio")


@pytest.fixture
def app_settings(tmp_path: Path) -> AppSettings:
    """Settings in a private INI file, with tiny processing frames so the model runs fast on the CPU."""
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_engine_settings(replace(EngineSettings(), device="cpu", process_size=56))
    return settings


@pytest.fixture
def controller(
    qtbot: object, app_settings: AppSettings, app_paths: AppPaths, random_weights: Path
) -> Iterator[Controller]:
    """A controller on the random checkpoint; shut down after the test."""
    controller = Controller(app_settings, app_paths, weights=random_weights)
    yield controller
    controller.shutdown()


@pytest.fixture(scope="session")
def colour_frames(tmp_path_factory: pytest.TempPathFactory, realshort: Path) -> dict[int, Path]:
    """True-colour frames of realshort.mp4 saved as PNGs, to pin as keyframe exemplars."""
    from colormnet.video import VideoReader

    folder = tmp_path_factory.mktemp("exemplars")
    paths = {}
    with VideoReader(realshort) as reader:
        for index in (0, 4, 18, 30):
            paths[index] = folder / f"frame{index:02d}.png"
            Image.fromarray(reader.read(index)).save(paths[index])
    return paths


@pytest.fixture
def project(tmp_path: Path, colour_frames: dict[int, Path], realshort: Path) -> Project:
    """An unsaved project on realshort.mp4 with exemplars at frames 0 and 18 (a reference)."""
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.frame_count = 36
    project.add_exemplar(0, colour_frames[0])
    project.add_exemplar(18, colour_frames[18], kind="reference")
    return project


@pytest.fixture(scope="session")
def gray_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grayscale PNG, which must be refused as an exemplar."""
    path = tmp_path_factory.mktemp("gray") / "gray.png"
    ramp = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    Image.fromarray(np.stack([ramp] * 3, axis=-1)).save(path)
    return path


def open_video(qtbot: object, controller: Controller, path: Path) -> None:
    """Open ``path`` and wait until the session is ready (model loaded, segments known)."""
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        controller.files.open_video(path)
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]


def wait_for_segments(qtbot: object, controller: Controller, count: int) -> None:
    """Wait until the session reports ``count`` segments, all with cache keys."""
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: len(controller.segments) == count and all(s.key for s in controller.segments), timeout=RUN_TIMEOUT_MS
    )


def add_exemplar(qtbot: object, controller: Controller, path: Path, frame: int, kind: str = "auto") -> bool:
    """Pin ``path`` at ``frame`` and wait until the image is checked; whether the exemplar was added."""
    with qtbot.waitSignal(controller.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS) as done:  # type: ignore[attr-defined]
        controller.edits.add_exemplar_file(path, frame=frame, kind=kind)
    return bool(done.args[0])


@pytest.fixture
def window(qtbot: object, controller: Controller, realshort: Path) -> Iterator[object]:
    """The main window, shown, on realshort.mp4 with the first frame on screen."""
    yield show_main_window(qtbot, controller, realshort)


def show_empty_main_window(qtbot: object, controller: Controller) -> MainWindow:
    """The main window on ``controller``, shown, with no video open."""
    from app.widgets.main_window import MainWindow

    window = MainWindow(controller)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    qtbot.waitExposed(window)  # type: ignore[attr-defined]
    return window


def show_main_window(qtbot: object, controller: Controller, video: Path) -> object:
    """The main window on ``controller``, shown, with ``video`` open and its first frame on screen."""
    window = show_empty_main_window(qtbot, controller)
    window.activateWindow()
    open_video(qtbot, controller, video)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 0, timeout=10_000)  # type: ignore[attr-defined]
    return window
