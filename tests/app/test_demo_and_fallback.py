"""``--demo`` and the weights-free fallback: the bundled clip ready to colorize, with or without a checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.controller import Controller
from app.demo import build_demo_project
from app.main import build_window, parse_args
from app.model.engine_settings import FALLBACK_NOTICE
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from colormnet.demo import demo_video_path
from colormnet.video import VideoReader
from tests.app.conftest import RUN_TIMEOUT_MS, wait_for_segments

ROOT = Path(__file__).parents[2]
FALLBACK_LABEL = "Propagate · CPU · fp32 — fallback: no usable ColorMNet weights"


def _demo_window(qtbot, settings: AppSettings, paths: AppPaths, weights: Path) -> MainWindow:
    window = build_window(parse_args(["--demo", "--weights", str(weights)]), paths, settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    wait_for_segments(qtbot, window.controller, 1)
    return window


@pytest.fixture
def demo_with_weights(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, random_weights: Path
) -> Iterator[MainWindow]:
    window = _demo_window(qtbot, app_settings, app_paths, random_weights)
    yield window
    window.controller.shutdown()


@pytest.fixture
def demo_without_weights(qtbot, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path) -> Iterator[MainWindow]:
    window = _demo_window(qtbot, app_settings, app_paths, tmp_path / "missing" / "colormnet.pth")
    yield window
    window.controller.shutdown()


def _assert_demo_project(controller: Controller, paths: AppPaths) -> None:
    project = controller.project
    assert project.video == demo_video_path().resolve() and project.video.name == "realshort.mp4"
    assert controller.frame_count == 36
    assert [(e.frame, e.kind) for e in project.exemplars] == [(0, "keyframe")]
    image = project.exemplars[0].image
    assert image.suffix == ".png" and image.resolve().is_relative_to(paths.scratch.resolve())
    with VideoReader(project.video) as reader:
        first = reader.read(0)
    np.testing.assert_array_equal(np.asarray(Image.open(image).convert("RGB")), first)  # the true colours, exactly
    assert not project.dirty  # the user has changed nothing yet
    assert not controller.colorized.any() and not controller.runs.busy  # nothing runs until the user asks


def test_parse_args_demo() -> None:
    args = parse_args(["--demo", "--weights", "w.pth", "--screenshot", "shot.png"])
    assert args.demo and args.path is None and (args.weights, args.screenshot) == (Path("w.pth"), Path("shot.png"))
    assert not parse_args([]).demo
    with pytest.raises(SystemExit):
        parse_args(["--demo", "film.mp4"])


def test_demo_with_a_checkpoint_runs_colormnet(demo_with_weights: MainWindow, app_paths: AppPaths) -> None:
    window, controller = demo_with_weights, demo_with_weights.controller
    _assert_demo_project(controller, app_paths)
    assert controller.engine.session_engine == "colormnet" and not controller.engine.on_fallback
    assert window.status.device_label.text() == "ColorMNet · CPU · fp32 (random weights)"
    assert window.commands.weights_dialog is None


def test_demo_without_a_checkpoint_colorizes_with_the_fallback(
    qtbot, demo_without_weights: MainWindow, app_paths: AppPaths, app_settings: AppSettings
) -> None:
    window, controller = demo_without_weights, demo_without_weights.controller
    _assert_demo_project(controller, app_paths)
    assert controller.engine.session_engine == "propagate" and controller.engine.on_fallback
    # The user's choice stays ColorMNet: in the project and in the saved settings.
    assert controller.project.settings.engine == "colormnet"
    assert app_settings.engine_settings().engine == "colormnet"
    # The app says so: status bar and the weights dialog, which still offers Download / Locate.
    assert window.status.currentMessage() == FALLBACK_NOTICE
    assert window.status.device_label.text() == FALLBACK_LABEL
    dialog = window.commands.weights_dialog
    assert dialog is not None and dialog.isVisible()
    assert FALLBACK_NOTICE in dialog.explanation.text() and "missing" in dialog.reason.text()
    assert dialog.download_button.isEnabled() and dialog.locate_button.isEnabled()

    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_range(0, 3)
    assert finished.args == ["colorize", False]
    assert controller.colorized[:3].all() and not controller.colorized[3:].any()
    key = controller.key_at(0)
    assert controller.cache is not None and controller.cache.frames(key) == frozenset({0, 1, 2})
    controller.set_current_frame(2)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 2 and window.viewer.has_color, timeout=10_000)
    assert dialog.isVisible()  # the fallback being ready does not close the offer of the real weights


def test_locating_a_checkpoint_switches_back_to_colormnet(
    qtbot, demo_without_weights: MainWindow, random_weights: Path, app_settings: AppSettings
) -> None:
    window, controller = demo_without_weights, demo_without_weights.controller
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 2)
    fallback_key = controller.key_at(0)
    dialog = window.commands.weights_dialog
    assert dialog is not None
    with qtbot.waitSignal(
        controller.engine.sig_model_state, check_params_cb=lambda s: s == "ready", timeout=RUN_TIMEOUT_MS
    ):
        dialog.locate(random_weights)
    assert controller.engine.session_engine == "colormnet" and not controller.engine.on_fallback
    assert not dialog.isVisible() and app_settings.weights_path == random_weights
    assert window.status.device_label.text() == "ColorMNet · CPU · fp32 (random weights)"
    wait_for_segments(qtbot, controller, 1)
    # ColorMNet's frames have their own key: the fallback's frames are kept but not taken for ColorMNet frames.
    assert controller.key_at(0) != fallback_key and not controller.colorized.any()
    assert controller.cache is not None and controller.cache.frames(fallback_key) == frozenset({0, 1})
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_range(0, 1)
    assert finished.args == ["colorize", False] and controller.colorized[0]


def test_an_unusable_checkpoint_falls_back_and_a_bad_locate_stays_there(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path, realshort: Path
) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint")
    controller = Controller(app_settings, app_paths, weights=bad)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(controller.engine.sig_weights_missing, timeout=RUN_TIMEOUT_MS) as missing:
            controller.files.open_video(realshort)
        assert "bad.pth" in missing.args[0]
        qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
        assert controller.engine.on_fallback and window.status.device_label.text() == FALLBACK_LABEL
        dialog = window.commands.weights_dialog
        assert dialog is not None and "bad.pth" in dialog.reason.text()
        # Locating another unusable file: still the fallback, the dialog stays and says why.
        worse = tmp_path / "empty.pth"
        worse.write_bytes(b"")
        with qtbot.waitSignal(controller.engine.sig_weights_missing, timeout=RUN_TIMEOUT_MS):
            dialog.locate(worse)
        qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
        assert controller.engine.on_fallback and dialog.isVisible() and "empty.pth" in dialog.reason.text()
        assert "cannot be used" in dialog.status.text()
    finally:
        controller.shutdown()


def test_a_run_asked_for_before_the_model_answers_goes_on_with_the_fallback(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path
) -> None:
    controller = Controller(app_settings, app_paths, weights=tmp_path / "missing.pth")
    try:
        project = build_demo_project(app_paths, app_settings.engine_settings())
        with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
            controller.files.adopt_project(project)
        assert controller.engine.model_state == "loading" and not controller.engine.on_fallback
        with qtbot.waitSignals(
            [controller.engine.sig_weights_missing, controller.runs.sig_run_started],
            order="strict",
            timeout=RUN_TIMEOUT_MS,
        ):
            controller.runs.colorize_range(0, 2)  # queued behind the ColorMNet load, which fails
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
            pass
        assert finished.args == ["colorize", False]
        assert controller.engine.on_fallback and controller.colorized[:2].all() and not controller.colorized[2:].any()
    finally:
        controller.shutdown()


def test_demo_screenshot_from_the_command_line(tmp_path: Path) -> None:
    """``python -m app --demo --weights MISSING --screenshot PNG`` opens the demo on the fallback and exits."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    shot = tmp_path / "demo.png"
    missing = tmp_path / "none.pth"
    command = [sys.executable, "-m", "app", "--demo", "--weights", str(missing), "--screenshot", str(shot)]
    subprocess.run(command, cwd=ROOT, env=env, check=True, timeout=300)
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    height, width, _ = pixels.shape
    assert width >= 800 and height >= 500
    # The exemplar panel (right) shows the colour thumbnail of the pinned frame; the source pane is grayscale.
    panel = pixels[: height // 3, width * 4 // 5 :]
    assert ((panel.max(axis=2) - panel.min(axis=2)) > 40).sum() > 200
    log = next((tmp_path / "state").rglob("studio.log")).read_text()
    assert "demo opened" in log and "propagate" in log
