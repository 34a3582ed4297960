"""No weights installed: the app explains, offers download or locate, and stays usable. Worker errors become
messages, never crashes."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

import colormnet.engines.colormnet.weights
from app.controller import Controller
from app.model.engine_settings import FALLBACK_NOTICE
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from colormnet.engines.colormnet import weights
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.errors import WeightsError
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


@pytest.fixture
def no_weights(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path, realshort: Path
) -> Iterator[MainWindow]:
    controller = Controller(app_settings, app_paths, weights=tmp_path / "missing" / "colormnet.pth")
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(controller.engine.sig_weights_missing, timeout=RUN_TIMEOUT_MS):
        controller.files.open_video(realshort)
    yield window
    controller.shutdown()


def test_missing_weights_dialog_and_the_app_stays_usable(
    qtbot, no_weights: MainWindow, colour_frames: dict[int, Path], random_weights: Path
) -> None:
    window, controller = no_weights, no_weights.controller
    dialog = window.commands.weights_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert "CC BY-NC-SA" in dialog.explanation.text() and FALLBACK_NOTICE in dialog.explanation.text()
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)  # the fallback engine
    assert controller.engine.on_fallback and controller.project.settings.engine == "colormnet"
    assert window.status.device_label.text() == "Propagate · CPU · fp32 — fallback: no usable ColorMNet weights"
    assert dialog.isVisible()
    # Open, scrub and pin exemplars meanwhile.
    qtbot.waitUntil(lambda: window.viewer.frame_index == 0, timeout=10_000)
    controller.step(5)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 5, timeout=10_000)
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    assert not window.viewer.has_color
    dialog.hide()
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 2)  # previews on the fallback engine
    assert controller.colorized[:2].all()

    with qtbot.waitSignal(
        controller.engine.sig_model_state, check_params_cb=lambda state: state == "ready", timeout=RUN_TIMEOUT_MS
    ):
        dialog.locate(random_weights)
    assert not controller.engine.on_fallback
    assert not dialog.isVisible()
    assert controller.settings.weights_path == random_weights
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(5, 6)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 5 and window.viewer.has_color, timeout=10_000)


def slow_download(dest: Path | None = None, *, progress=None, cancel=None, **kwargs) -> Path:
    """Stands in for the download: a quarter of the way, then waits to be cancelled."""
    progress(0, 1000)
    time.sleep(0.15)  # progress signals are throttled to ten a second
    progress(250, 1000)
    assert cancel.wait(20)
    raise weights.DownloadCancelledError("The download was cancelled; start it again to resume.")


def test_the_weights_dialog_can_stop_opening_by_itself_while_the_fallback_stands_in(
    qtbot, no_weights: MainWindow, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path, realshort: Path
) -> None:
    dialog = no_weights.commands.weights_dialog
    assert dialog is not None and dialog.isVisible() and dialog.dont_offer.isVisible()
    dialog.dont_offer.setChecked(True)  # a restorer who works with the propagate engine on purpose
    dialog.close()
    assert app_settings.offer_weights is False

    controller = Controller(app_settings, app_paths, weights=tmp_path / "missing" / "colormnet.pth")  # next start
    try:
        window = MainWindow(controller)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(controller.engine.sig_weights_missing, timeout=RUN_TIMEOUT_MS):
            controller.files.open_video(realshort)
        assert controller.engine.fallback_active
        assert window.commands.weights_dialog is None  # not opened; File ▸ ColorMNet Weights… still offers it
    finally:
        controller.shutdown()


def test_download_shows_progress_and_can_be_cancelled(qtbot, no_weights: MainWindow, monkeypatch) -> None:
    controller = no_weights.controller
    dialog = no_weights.commands.weights_dialog
    monkeypatch.setattr(colormnet.engines.colormnet.weights, "download_weights", slow_download)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() == 250, timeout=10_000)  # a quarter of the way
    assert dialog.close_button.text() == "Cancel" and not dialog.locate_button.isEnabled()
    with qtbot.waitSignal(controller.download.sig_finished, timeout=10_000) as finished:
        dialog.close_button.click()
    assert finished.args == [False, "The download was cancelled."]
    assert dialog.status.text() == "The download was cancelled." and dialog.download_button.isEnabled()


def test_download_success_loads_the_model(
    qtbot, no_weights: MainWindow, monkeypatch, random_weights: Path, tmp_path: Path
) -> None:
    controller = no_weights.controller
    dialog = no_weights.commands.weights_dialog
    target = tmp_path / "downloaded.pth"

    def download(dest: Path | None = None, *, progress=None, cancel=None, **kwargs) -> Path:
        progress(100, 100)
        shutil.copyfile(random_weights, target)
        return target

    monkeypatch.setattr(colormnet.engines.colormnet.weights, "download_weights", download)
    # the fallback engine first
    qtbot.waitUntil(lambda: controller.engine.model_state == "ready", timeout=RUN_TIMEOUT_MS)
    with qtbot.waitSignal(
        controller.engine.sig_model_state,
        check_params_cb=lambda state: state == "ready" and not controller.engine.on_fallback,
        timeout=RUN_TIMEOUT_MS,
    ):
        dialog.download_button.click()
    assert controller.settings.weights_path == target
    assert not dialog.isVisible()


def test_the_weights_free_engine_colorizes_without_weights(
    qtbot, no_weights: MainWindow, colour_frames: dict[int, Path]
) -> None:
    controller = no_weights.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    with qtbot.waitSignal(
        controller.engine.sig_model_state, check_params_cb=lambda s: s == "ready", timeout=RUN_TIMEOUT_MS
    ):
        controller.edits.set_engine_settings(replace(controller.project.settings, engine="propagate"))
    wait_for_segments(qtbot, controller, 1)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_range(0, 3)
    assert finished.args == ["colorize", False]
    assert controller.colorized[:3].all() and not controller.colorized[3:].any()
    assert no_weights.status.device_label.text() == "Propagate · CPU · fp32"  # chosen, not a fallback


def test_other_engines_missing_weights_are_a_message(
    qtbot, no_weights: MainWindow, tmp_path: Path, monkeypatch
) -> None:
    controller = no_weights.controller
    monkeypatch.setenv("COLORMNET_DEEPEXEMPLAR_WEIGHTS", str(tmp_path / "no-such-folder"))
    no_weights.commands.weights_dialog.hide()  # type: ignore[union-attr]
    with qtbot.waitSignal(controller.sig_error, timeout=RUN_TIMEOUT_MS) as error:
        controller.edits.set_engine_settings(replace(controller.project.settings, engine="deepexemplar"))
    assert "no-such-folder" in error.args[0]
    assert controller.engine.model_state == "missing"
    assert not no_weights.commands.weights_dialog.isVisible()  # type: ignore[union-attr]  # the ColorMNet dialog stays away


def test_a_model_failure_is_shown_as_a_message(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path], monkeypatch
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)

    def fail(self, *args, **kwargs):
        raise RuntimeError("simulated kernel failure")

    with monkeypatch.context() as patch:
        patch.setattr(InferenceEngine, "step", fail)
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
            controller.runs.colorize_segment()
    assert window.last_message is not None and window.last_message.isVisible()
    assert "simulated kernel failure" in window.last_message.text()
    assert not controller.runs.busy and not window.status.progress_bar.isVisible()
    assert controller._session_thread.thread.isRunning()  # the worker survives and takes the next job
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_range(0, 1)
    assert finished.args == ["colorize", False] and controller.colorized[0]


def test_an_unexpected_exception_is_shown_as_a_message(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path], monkeypatch
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    monkeypatch.setattr("colormnet.session.Session.plan", lambda self, frames=None: 1 / 0)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_all()
    assert "unexpectedly" in window.last_message.text() and "see the log file" in window.last_message.text()  # type: ignore[union-attr]


def test_weights_error_from_a_bad_file(
    qtbot, app_settings: AppSettings, app_paths: AppPaths, tmp_path: Path, realshort: Path
) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint")
    controller = Controller(app_settings, app_paths, weights=bad)
    try:
        with qtbot.waitSignal(controller.engine.sig_weights_missing, timeout=RUN_TIMEOUT_MS) as missing:
            controller.files.open_video(realshort)
        assert missing.args[0] == f"{bad} is not a PyTorch checkpoint; download the weights, or locate a copy you have."
        with pytest.raises(WeightsError):
            colormnet.engines.colormnet.weights.load_weights(bad)
    finally:
        controller.shutdown()


def test_a_download_onto_weights_already_there_says_nothing_was_downloaded(qtbot, random_weights: Path,
                                                                          tmp_path: Path) -> None:
    from app.worker import DownloadWorker

    dest = tmp_path / "w.pth"
    shutil.copyfile(random_weights, dest)
    before = dest.read_bytes()
    worker = DownloadWorker()
    finished: list[str] = []
    worker.sig_finished.connect(finished.append)
    with qtbot.waitSignal(worker.sig_failed, timeout=RUN_TIMEOUT_MS) as failed:
        worker.download(str(dest))  # the library leaves weights that read alone, random ones too
    assert failed.args == [f"Weights are already at {dest}, so nothing was downloaded; to download the published "
                           "ones there, move that file away first.", False]
    assert finished == [] and dest.read_bytes() == before
