"""What the app says about the engine: the one actually running and why, with or without a video open, and the
colorized frames reaching the viewer from memory during a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.controller import Controller
from app.model import frame_cache
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


@pytest.fixture
def empty_window(qtbot, app_settings: AppSettings, app_paths: AppPaths, random_weights: Path) -> Iterator[MainWindow]:
    """The main window with no video open."""
    controller = Controller(app_settings, app_paths, weights=random_weights)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    yield window
    controller.shutdown()


def test_with_no_video_the_status_bar_says_the_engine_waits_for_one(qtbot, empty_window: MainWindow) -> None:
    window, controller = empty_window, empty_window.controller
    label = window.status.device_label
    qtbot.waitUntil(lambda: controller.engine.engine_ready, timeout=RUN_TIMEOUT_MS)
    # Ready and waiting, not "loading" for ever next to "Colorization engine ready."
    assert label.text() == "ColorMNet · waiting for a video"
    assert "load" not in label.text().lower() and "starting" not in label.text().lower()
    assert controller.engine.model_state == "idle"


def test_the_fallback_is_named_in_the_status_bar_and_the_settings(qtbot, app_settings: AppSettings,
                                                                  app_paths: AppPaths, tmp_path: Path,
                                                                  realshort: Path) -> None:
    controller = Controller(app_settings, app_paths, weights=tmp_path / "missing" / "colormnet.pth")
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    try:
        open_video(qtbot, controller, realshort)
        assert controller.engine.on_fallback
        text = window.status.device_label.text()
        assert text.startswith("Propagate · CPU") and "fallback: no usable ColorMNet weights" in text
        assert "colormnet.pth" in window.status.device_label.toolTip()  # the checkpoint's own problem
        # Settings keeps the user's choice, and says what runs instead, and why.
        window.commands.show_settings_dialog()
        dialog = window.commands.settings_dialog
        assert dialog is not None
        assert dialog.engine.currentData() == "colormnet"
        assert not dialog.running.isHidden()
        assert dialog.running.text().startswith("Running now: Propagate on CPU (fallback: no usable ColorMNet")
        dialog.reject()
    finally:
        window.close()
        controller.shutdown()


def test_the_settings_offer_the_memory_transition_only_to_engines_that_hold_several_exemplars(qtbot) -> None:
    from app.model.engine_settings import EngineSettings
    from app.widgets.settings_dialog import SettingsDialog

    dialog = SettingsDialog(EngineSettings(transition="memory"), 1 << 30, ["colormnet", "propagate"])
    qtbot.addWidget(dialog)
    offered = lambda: [dialog.transition.itemData(i) for i in range(dialog.transition.count())]  # noqa: E731
    assert offered() == ["blend", "cut", "memory"] and dialog.engine_settings().transition == "memory"
    dialog.engine.setCurrentIndex(dialog.engine.findData("propagate"))
    assert offered() == ["blend", "cut"] and dialog.engine_settings().transition == "blend"
    dialog.transition.setCurrentIndex(dialog.transition.findData("cut"))
    dialog.engine.setCurrentIndex(dialog.engine.findData("colormnet"))
    assert "memory" in offered() and dialog.engine_settings().transition == "cut"  # the choice that still fits stays


def test_without_the_fallback_the_settings_say_nothing_more(qtbot, window: MainWindow) -> None:
    window.commands.show_settings_dialog()
    dialog = window.commands.settings_dialog
    assert dialog is not None and dialog.running.text() == "" and dialog.running.isHidden()
    dialog.reject()


def test_frames_of_a_followed_run_reach_the_viewer_without_reading_the_cache(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    controller = window.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    decoded: list[int] = []
    original = frame_cache.decode_png

    def counting(data: bytes):
        decoded.append(len(data))
        return original(data)

    monkeypatch.setattr(frame_cache, "decode_png", counting)
    controller.set_follow_playhead(True)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_all()
    qtbot.waitUntil(lambda: window.viewer.frame_index == 35 and window.viewer.has_color, timeout=10_000)
    assert controller.colorized.all()
    assert decoded == []  # every colour shown came from the run, in memory
    controller.set_current_frame(5)  # a frame the run has moved past is read back from the cache
    qtbot.waitUntil(lambda: window.viewer.frame_index == 5 and window.viewer.has_color, timeout=10_000)
    assert len(decoded) == 1


def test_cuda_is_offered_only_where_the_machine_has_it(qtbot, window: MainWindow) -> None:
    from app.model.engine_settings import DEVICES, EngineSettings
    from app.widgets.settings_dialog import NO_CUDA, SettingsDialog
    from colormnet.engines.precision import available_devices

    assert window.controller.engine.available_devices == available_devices()  # told when the engine started
    cuda = DEVICES.index("cuda")
    for devices, offered in ((None, True), (["cpu", "cuda"], True), (["cpu"], False)):
        dialog = SettingsDialog(EngineSettings(device="cuda"), 1 << 30, ["colormnet"], devices=devices)
        qtbot.addWidget(dialog)
        item = dialog.device.model().item(cuda)  # type: ignore[attr-defined]
        assert item.isEnabled() is offered
        assert (NO_CUDA in item.toolTip() and NO_CUDA in dialog.device.toolTip()) is not offered
    window.commands.show_settings_dialog()
    shown = window.commands.settings_dialog
    assert shown is not None
    assert shown.device.model().item(cuda).isEnabled() is ("cuda" in available_devices())  # type: ignore[attr-defined]
    shown.reject()


def test_a_project_set_to_cuda_runs_on_the_cpu_of_a_machine_without_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.model.engine_settings import EngineSettings
    from app.session_config import session_config
    from colormnet.engines import precision

    monkeypatch.setattr(precision, "available_devices", lambda: ["cpu"])
    for preview in (True, False):
        assert session_config(EngineSettings(device="cuda"), preview=preview).device == "cpu"
    monkeypatch.setattr(precision, "available_devices", lambda: ["cpu", "cuda"])
    assert session_config(EngineSettings(device="cuda"), preview=False).device == "cuda"


def test_the_status_bar_says_why_a_project_set_to_cuda_runs_on_the_cpu(qtbot, window: MainWindow) -> None:
    from dataclasses import replace

    engine = window.controller.engine
    project = window.controller.project
    project.settings = replace(project.settings, device="cuda")
    engine.available_devices = ["cpu"]
    status = engine.status()
    assert status.why == "no CUDA device on this machine" and "runs on the CPU" in status.detail
    window.status.show_engine(status)
    assert window.status.device_label.text().endswith("— no CUDA device on this machine")
    engine.available_devices = ["cpu", "cuda"]
    assert engine.status().why == ""
