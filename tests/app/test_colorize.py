"""Colorizing through the controller and the window: frames stream in, cancel, resume from the cache."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app.controller import Controller
from app.model.paths import AppPaths
from app.run_control import RunControl
from app.settings import AppSettings
from app.widgets.main_window import MainWindow
from app.widgets.status_bar import StudioStatusBar
from app.widgets.timeline import TimelineBar
from app.widgets.viewer import FrameViewer
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments

# GUI-thread handlers that run for every frame of a run, timed in the colorize-all test.
TIMED_HANDLERS = [
    (RunControl, "on_frame"),
    (Controller, "_on_runs_frame"),
    (Controller, "_on_loader_loaded"),
    (Controller, "_on_worker_segments"),
    (MainWindow, "_on_controller_frame_shown"),
    (MainWindow, "_on_controller_colorized_changed"),
    (StudioStatusBar, "show_progress"),
    (FrameViewer, "paintEvent"),
    (TimelineBar, "paintEvent"),
]


def time_handlers(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[float]]:
    """Record the GUI thread's CPU time spent in each handler of TIMED_HANDLERS (patched before connecting)."""
    spent: dict[str, list[float]] = {}
    for cls, name in TIMED_HANDLERS:
        original = getattr(cls, name)

        def timed(*args: object, _original=original, _key=f"{cls.__name__}.{name}") -> object:
            began = time.thread_time()
            try:
                return _original(*args)
            finally:
                spent.setdefault(_key, []).append(time.thread_time() - began)

        monkeypatch.setattr(cls, name, timed)
    return spent


def test_colorize_all_streams_frames_in_order_into_viewer(
    qtbot,
    app_settings: AppSettings,
    app_paths: AppPaths,
    random_weights: Path,
    realshort: Path,
    colour_frames: dict[int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spent = time_handlers(monkeypatch)
    controller = Controller(app_settings, app_paths, weights=random_weights)
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    assert add_exemplar(qtbot, controller, colour_frames[18], 18)
    wait_for_segments(qtbot, controller, 2)
    assert [(s.start, s.stop) for s in controller.segments] == [(0, 18), (18, 36)]
    arrived: list[int] = []
    controller.runs.sig_run_started.connect(lambda kind: arrived.clear())
    controller._session_worker.sig_frame.connect(lambda frame: arrived.append(frame.index))
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.actions_by_name["colorize_all"].trigger()
    assert finished.args == ["colorize", False]
    assert arrived == list(range(36))  # each segment forward from its exemplar, in frame order
    assert controller.colorized.all()
    # The playhead followed the run to its last frame, and the viewer shows that frame colorized.
    assert controller.current_frame == 35
    qtbot.waitUntil(lambda: window.viewer.frame_index == 35 and window.viewer.has_color, timeout=10_000)
    assert window.timeline.cached_label.text() == "Colorized 36 of 36 frames"
    # Scrubbing back shows a cached frame at once, colorized.
    controller.set_current_frame(5)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 5 and window.viewer.has_color, timeout=10_000)
    window.close()
    # No GUI handler came near the 50 ms budget while 36 frames streamed in.
    assert len(spent["RunControl.on_frame"]) == 36
    worst = {name: max(times) for name, times in spent.items()}
    assert max(worst.values()) < 0.05, worst


def test_cancel_stops_within_a_frame_and_resume_uses_the_cache(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path]
) -> None:
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[30], 30)
    wait_for_segments(qtbot, controller, 2)
    controller.set_current_frame(31)
    first_run: list[int] = []

    def on_frame(frame: object) -> None:  # runs on the worker's thread, as the frame is emitted
        first_run.append(frame.index)
        if len(first_run) == 2:
            controller.runs.cancel()

    worker = controller._session_worker
    worker.sig_frame.connect(on_frame, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.runs.colorize_segment()
    worker.sig_frame.disconnect(on_frame)
    assert finished.args == ["colorize", True]
    assert first_run == [30, 31]  # cancelled after frame 31: the session stopped before computing frame 32
    assert set(np.flatnonzero(controller.colorized)) == set(first_run)
    second_run: list[int] = []
    worker.sig_frame.connect(lambda frame: second_run.append(frame.index))
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_segment()
    assert sorted(second_run) == [i for i in range(30, 36) if i not in first_run]  # cached frames are not redone
    assert controller.colorized[30:].all() and not controller.colorized[:30].any()
