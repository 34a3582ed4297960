"""The GPU running out of memory during a run: the session falls back, the run completes, and the user is told.

A CPU has no GPU memory to run out of, so the error is simulated the way the session sees it: one engine step
raises what an engine raises when CUDA runs out of memory. The patch is on the class, before the
run starts, so it also holds on the worker thread that runs the session.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.controller import Controller
from app.model.paths import AppPaths
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from app.widgets.status_bar import StudioStatusBar
from colormnet.errors import DeviceOutOfMemoryError
from colormnet.session.run import RunExecutor
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments

FAILING_STEP = 3  # the third engine step of the run runs out of memory


def run_out_of_memory_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the third engine step raise the session's out-of-memory error; returns the steps' process sizes."""
    original = RunExecutor._predict
    sizes: list[int] = []
    lock = threading.Lock()

    def predict(self, engine, lightness, work, *args, **kwargs):
        with lock:
            sizes.append(min(work))
            failing = len(sizes) == FAILING_STEP
        if failing:
            raise DeviceOutOfMemoryError("The CUDA ran out of memory (simulated).")
        return original(self, engine, lightness, work, *args, **kwargs)

    monkeypatch.setattr(RunExecutor, "_predict", predict)
    return sizes


@pytest.mark.parametrize(
    ("process_size", "size_after", "expected"),
    [
        (150, 112, "continuing at a processing size of 112 (was 150)"),  # room to shrink: a smaller size
        (56, 56, "continuing on the CPU"),  # already near the floor: the same size on the CPU
    ],
    ids=["smaller-size", "cpu"],
)
def test_out_of_memory_fallback_is_shown_and_the_run_completes(
    qtbot,
    app_settings: AppSettings,
    app_paths: AppPaths,
    random_weights: Path,
    realshort: Path,
    colour_frames: dict[int, Path],
    monkeypatch: pytest.MonkeyPatch,
    process_size: int,
    size_after: int,
    expected: str,
) -> None:
    app_settings.set_engine_settings(replace(app_settings.engine_settings(), process_size=process_size))
    monkeypatch.setattr(StudioStatusBar, "note_ms", 1000)  # passing notes go sooner, so waiting them out is short
    sizes = run_out_of_memory_once(monkeypatch)
    controller = Controller(app_settings, app_paths, weights=random_weights)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        open_video(qtbot, controller, realshort)
        assert add_exemplar(qtbot, controller, colour_frames[0], 0)
        wait_for_segments(qtbot, controller, 1)
        status = window.statusBar()
        shown: list[str] = []
        status.messageChanged.connect(shown.append)
        errors: list[str] = []
        controller.sig_error.connect(errors.append)
        notices: list[str] = []
        controller._session_worker.sig_frame.connect(lambda frame: frame.notice and notices.append(frame.notice))
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
            window.actions_by_name["colorize_all"].trigger()
        assert finished.args == ["colorize", False]
        assert errors == [] and window.last_message is None
        # The session fell back once, on the failing step, and carried on from the segment's anchor.
        assert len(notices) == 1 and expected in notices[0]
        assert sizes[:FAILING_STEP] == [process_size] * FAILING_STEP and set(sizes[FAILING_STEP:]) == {size_after}
        assert len(sizes) == FAILING_STEP + 36  # the run started again from frame 0, the anchor
        # Every frame was colorized, and the viewer shows the last one in colour.
        assert controller.colorized.all()
        qtbot.waitUntil(lambda: window.viewer.frame_index == 35 and window.viewer.has_color, timeout=10_000)
        assert window.timeline.cached_label.text() == "Colorized 36 of 36 frames"
        # The user is told: the notice shows in the status bar as it happens, is restated when the run ends, and
        # stays there (the plain "Colorization finished." goes after note_ms), so a user back at the end sees it.
        assert notices[0] in shown
        # The engine label says the session stepped down, and the tooltip says how.
        label = window.status.device_label
        assert label.text().endswith("— stepped down: the GPU ran out of memory") and "CPU" in label.text()
        assert notices[0] in label.toolTip()
        assert status.currentMessage() == f"Colorization finished. {notices[0]}"
        qtbot.wait(StudioStatusBar.note_ms + 500)
        assert status.currentMessage() == f"Colorization finished. {notices[0]}"
        # The app stays usable: the progress is gone, the commands are back, and another run goes through.
        assert not window.status.progress_bar.isVisible()
        assert window.actions_by_name["colorize_all"].isEnabled()
        assert not window.actions_by_name["cancel"].isEnabled()
        controller.set_current_frame(5)
        qtbot.waitUntil(lambda: window.viewer.frame_index == 5 and window.viewer.has_color, timeout=10_000)
        with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as again:
            window.actions_by_name["colorize_segment"].trigger()
        assert again.args == ["colorize", False] and errors == []
        assert controller.colorized.all()
        assert status.currentMessage() == "Every frame is colorized already."  # and the step-down is not told again
    finally:
        window.close()
        controller.shutdown()
