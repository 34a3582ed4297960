"""The main window on a small screen (1024x700): nothing it shows makes it wider than that, and the frame field keeps
room for a timecode.

Qt grows a top-level window to its layout's minimum size, so a readout whose whole text sets that minimum pushes the
window past the screen's edge (and the exemplar panel and Cancel out of sight) as soon as it gets longer.
"""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from app.engine_choice import EngineStatus
from app.model.shot_list import ShotState
from app.progress import Progress
from app.widgets.main_window import MainWindow

SMALL = (1024, 700)


def test_a_run_s_progress_does_not_widen_a_small_window(qtbot, window: MainWindow) -> None:
    window.resize(*SMALL)
    fallback = EngineStatus("ready", True, "colormnet", "propagate", "cpu", "bf16 preview · fp32 export", False,
                            "fallback: no usable ColorMNet weights", "The checkpoint is missing.")
    window.status.show_engine(fallback)
    window.status.run_started("colorize")
    window.status.show_progress(Progress(212, 290, 1.31, 59.0, frames_done=211, frames_total=288))
    QApplication.processEvents()

    assert window.minimumSizeHint().width() <= SMALL[0]
    assert window.width() == SMALL[0]
    for label in (window.status.progress_label, window.status.video_label, window.status.device_label):
        assert label.toolTip() and label.text() in label.toolTip()  # what is cut off can still be read


def test_the_frame_row_fits_a_small_window_and_keeps_the_frame_field_usable(qtbot, window: MainWindow) -> None:
    window.resize(*SMALL)
    timeline = window.timeline
    count = window.controller.frame_count
    timeline.set_shots([ShotState(0, count, "start", None, (), 99999, "linked")])
    timeline.set_in_out(2, 30)
    QApplication.processEvents()

    assert window.minimumSizeHint().width() <= SMALL[0]
    field = timeline.goto
    timecode = field.fontMetrics().horizontalAdvance("00:00:00:00")
    assert field.width() >= timecode and field.minimumWidth() >= timecode  # a timecode can be typed and read
    gap = timeline.range_label.geometry().left() - timeline.shot_label.geometry().right()
    assert gap >= 8  # "... (linked by hand)" and "In 2 · Out 30" do not run together
