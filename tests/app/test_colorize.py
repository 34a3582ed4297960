"""Colorizing through the controller and the window: frames stream in, cancel, resume from the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.controller import Controller
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


def test_colorize_all_streams_frames_in_order_into_viewer(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path]
) -> None:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    assert add_exemplar(qtbot, controller, colour_frames[18], 18)
    wait_for_segments(qtbot, controller, 2)
    assert [(s.start, s.stop) for s in controller.segments] == [(0, 18), (18, 36)]
    arrived: list[int] = []
    controller.sig_run_started.connect(lambda kind: arrived.clear())
    controller._session_thread.worker.sig_frame.connect(lambda frame: arrived.append(frame.index))  # type: ignore[attr-defined]
    with qtbot.waitSignal(controller.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.actions_by_name["colorize_all"].trigger()
    assert finished.args == ["colorize", False]
    assert arrived == list(range(36))  # each segment forward from its exemplar, in frame order
    assert controller.colorized.all()
    # The playhead followed the run to its last frame, and the viewer shows that frame colorized.
    assert controller.current_frame == 35
    qtbot.waitUntil(lambda: window.viewer.frame_index == 35 and window.viewer.has_color, timeout=10_000)
    assert window.timeline.cached_label.text() == "Colorized 36 / 36"
    # Scrubbing back shows a cached frame at once, colorized.
    controller.set_current_frame(5)
    qtbot.waitUntil(lambda: window.viewer.frame_index == 5 and window.viewer.has_color, timeout=10_000)


def test_cancel_stops_within_a_frame_and_resume_uses_the_cache(
    qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path]
) -> None:
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    add_exemplar(qtbot, controller, colour_frames[30], 30)
    wait_for_segments(qtbot, controller, 2)
    controller.set_current_frame(31)
    first_run: list[int] = []

    def on_frame(frame: object) -> None:
        first_run.append(frame.index)  # type: ignore[attr-defined]
        if len(first_run) == 2:
            controller.cancel()

    worker = controller._session_thread.worker
    worker.sig_frame.connect(on_frame)  # type: ignore[attr-defined]
    with qtbot.waitSignal(controller.sig_run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        controller.colorize_segment()
    worker.sig_frame.disconnect(on_frame)  # type: ignore[attr-defined]
    assert finished.args == ["colorize", True]
    assert first_run[:2] == [30, 31] and len(first_run) <= 3  # the session stops before the next frame
    assert set(np.flatnonzero(controller.colorized)) == set(first_run)
    second_run: list[int] = []
    worker.sig_frame.connect(lambda frame: second_run.append(frame.index))  # type: ignore[attr-defined]
    with qtbot.waitSignal(controller.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.colorize_segment()
    assert sorted(second_run) == [i for i in range(30, 36) if i not in first_run]  # cached frames are not redone
    assert controller.colorized[30:].all() and not controller.colorized[:30].any()
