"""The main window on a small screen (1024x700): nothing it shows makes it wider than that, and the frame field keeps
room for a timecode.

Qt grows a top-level window to its layout's minimum size, so a readout whose whole text sets that minimum pushes the
window past the screen's edge (and the exemplar panel and Cancel out of sight) as soon as it gets longer.
"""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from app.engine_choice import EngineStatus
from app.model.shot_list import ShotState
from app.progress import Progress
from app.widgets.actions import LABELS_GIVEN_UP, SPECS, TOOLBAR
from app.widgets.fitting_toolbar import FittingToolBar
from app.widgets.main_window import MainWindow

SMALL = (1024, 700)
_SHOWN = QAction.Priority.NormalPriority


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


def test_a_run_s_time_left_stays_in_sight_on_a_small_window(qtbot, window: MainWindow) -> None:
    window.resize(800, 700)  # too narrow for the whole line: its end is cut off
    status = window.status
    status.run_started("colorize")
    status.show_progress(Progress(21, 347, 1.14, 287.0, frames_done=21, frames_total=246))
    QApplication.processEvents()

    label = status.progress_label
    text = label.text()
    up_to_eta = text[: text.index("ETA 4:47") + len("ETA 4:47")]
    assert label.fontMetrics().horizontalAdvance(text) > label.contentsRect().width()
    assert label.fontMetrics().horizontalAdvance(up_to_eta) <= label.contentsRect().width()
    assert status.video_label.isHidden()  # the run's progress has the room of the video's description
    status.run_finished("colorize", cancelled=False)
    status.clearMessage()
    assert not status.video_label.isHidden()


def test_an_export_shows_the_frames_written_not_the_segment_being_colorized(qtbot, window: MainWindow) -> None:
    status = window.status
    status.run_started("export")
    status.show_export_progress(0, 288)
    status.show_export_progress(39, 288)
    status.show_progress(Progress(39, 39, 1.0, 0.0, frames_done=92, frames_total=288))  # a segment's colorizing ends

    assert status.progress_label.text().startswith("39/288 frames · ETA ")
    assert (status.progress_bar.value(), status.progress_bar.maximum()) == (39, 288)
    status.run_started("colorize")
    status.show_export_progress(40, 288)  # not a colorize run's business
    assert status.progress_label.text() == "Colorizing…"


def test_every_toolbar_button_stays_in_sight_giving_up_the_least_needed_labels_first(
    qtbot, window: MainWindow
) -> None:
    toolbar = window.findChild(FittingToolBar, "main_toolbar")
    names = [name for name in TOOLBAR if name is not None]
    a = window.actions_by_name

    def hidden() -> list[str]:
        QApplication.processEvents()
        return [name for name in names if not toolbar.widgetForAction(a[name]).isVisible()]

    def labels() -> set[str]:
        return {action.objectName() for group in toolbar.labelled() for action in group if action.priority() == _SHOWN}

    every = {name for group in LABELS_GIVEN_UP for name in group}
    assert {action.objectName() for group in toolbar.labelled() for action in group} == every == {
        spec.name for spec in SPECS if spec.label and spec.name in names
    }  # every label can be given up
    window.resize(2000, 860)
    assert hidden() == [] and labels() == every
    window.resize(window.width() - toolbar.width() + toolbar.sizeHint().width() - 10, 860)  # a little too narrow
    assert hidden() == []
    assert "follow" not in labels() and "colorize_all" in labels()
    window.resize(*SMALL)  # far too narrow for them all: without most nothing goes behind the overflow chevron
    assert hidden() == [] and "colorize_in_out" not in labels()
    kept = [all(name in labels() for name in group) for group in LABELS_GIVEN_UP]
    assert kept == sorted(kept)  # the least needed went first, and the labels of a group (In, Out) together
    assert all(any(name in labels() for name in group) == kept[k] for k, group in enumerate(LABELS_GIVEN_UP))
    window.resize(2000, 860)
    assert hidden() == [] and labels() == every
