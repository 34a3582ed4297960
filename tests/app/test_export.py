"""The export dialog: checks the output path, colorizes missing frames first, writes H.264 with audio."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMessageBox

from app.controller import Controller
from app.icons import icon
from app.widgets.export_dialog import ExportDialog, default_output
from app.widgets.main_window import MainWindow
from colormnet.video import VideoReader
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, open_video, wait_for_segments


@pytest.fixture
def window(qtbot, controller: Controller, realshort: Path, colour_frames: dict[int, Path]) -> MainWindow:
    window = MainWindow(controller)
    qtbot.addWidget(window)
    open_video(qtbot, controller, realshort)
    add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    return window


def open_dialog(qtbot, window: MainWindow) -> ExportDialog:
    """The export dialog of ``window``'s project, closed with the test."""
    dialog = ExportDialog(window.controller, window)
    qtbot.addWidget(dialog)
    return dialog


def export(qtbot, dialog: ExportDialog, controller: Controller) -> list:
    """Starts the dialog's export and waits for its end: what ``sig_export_finished`` said (success, detail)."""
    with qtbot.waitSignal(controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS) as finished:
        assert dialog.start_export()
    return finished.args


def test_export_in_out_range_to_h264_with_audio(qtbot, window: MainWindow, tmp_path: Path) -> None:
    controller = window.controller
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 2)  # two of the four frames are cached already
    controller.set_current_frame(0)
    controller.edits.set_in_point()
    controller.set_current_frame(3)
    controller.edits.set_out_point()
    dialog = open_dialog(qtbot, window)
    assert dialog.range_in_out.isChecked() and dialog.audio.isChecked()
    output = tmp_path / "out" / "colorized.mp4"
    output.parent.mkdir()
    dialog.path.setText(str(output))
    colorized: list[int] = []
    controller._session_worker.sig_frame.connect(lambda frame: colorized.append(frame.index))
    assert export(qtbot, dialog, controller) == [True, str(output)]
    assert colorized == [2, 3]  # the missing frames were colorized first, the cached ones reused
    assert "Exported to" in dialog.status.text()
    again = open_dialog(qtbot, window)  # the next export of this film starts where this one went
    assert (again.path.text(), again.selected_codec()) == (str(output), "h264")
    with VideoReader(output) as reader:
        assert reader.info.frame_count == 4
        assert reader.info.has_audio
        assert (reader.info.width, reader.info.height) == (320, 240)
    assert controller.colorized[:4].all()


def test_refuses_the_source_and_asks_before_replacing(qtbot, window: MainWindow, tmp_path: Path, answers) -> None:
    controller = window.controller
    dialog = open_dialog(qtbot, window)
    dialog.path.setText(str(controller.project.video))
    assert not dialog.start_export()
    assert "is the input" in dialog.status.text()
    assert answers.asked == []  # refused at once: the user is never offered to replace the source
    assert not controller.runs.busy

    existing = tmp_path / "existing.mp4"
    existing.write_bytes(b"keep me")
    dialog.path.setText(str(existing))
    answers.queue.append(QMessageBox.StandardButton.No)
    assert not dialog.start_export()
    assert answers.asked[-1] == "Replace file?"
    assert existing.read_bytes() == b"keep me"

    dialog.path.setText(str(tmp_path / "wrong.mkv"))
    dialog.codec.setCurrentIndex(dialog.codec.findData("prores"))
    assert dialog.path.text().endswith("wrong.mov")  # the suffix follows the format
    dialog.codec.setCurrentIndex(dialog.codec.findData("png16"))
    assert not Path(dialog.path.text()).suffix and not dialog.audio.isEnabled()


def test_the_audio_box_stays_off_after_an_export_that_cannot_carry_audio(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    controller = window.controller
    dialog = open_dialog(qtbot, window)
    assert dialog.audio.isEnabled()  # the source has audio
    dialog.codec.setCurrentIndex(dialog.codec.findData("png"))
    dialog.path.setText(str(tmp_path / "frames"))
    assert not dialog.audio.isEnabled()
    assert export(qtbot, dialog, controller)[0] is True
    assert not dialog.audio.isEnabled() and dialog.codec.isEnabled()
    assert dialog.audio.text() == "None: a folder of images carries no audio"  # greyed, and why
    assert not dialog.audio.isChecked() and not dialog.job(overwrite=False).audio  # and unticked: no sound goes
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    assert dialog.audio.isEnabled() and dialog.audio.text() == "Include the source's audio"
    assert dialog.audio.isChecked()  # as the user left it
    dialog.audio.setChecked(False)
    dialog.codec.setCurrentIndex(dialog.codec.findData("png"))
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    assert not dialog.audio.isChecked()  # still as the user left it
    dialog.close()
    info = controller.video_info
    silent_film = tuple(s for s in info.streams if s.kind != "audio")
    controller.workspace.video_info = dataclasses.replace(info, streams=silent_film)
    silent = open_dialog(qtbot, window)
    assert not silent.audio.isEnabled() and not silent.audio.isChecked()
    assert silent.audio.text() == "None: the source has no audio"


def test_cancel_stops_the_export_and_leaves_no_file(qtbot, window: MainWindow, tmp_path: Path) -> None:
    controller = window.controller
    dialog = open_dialog(qtbot, window)
    output = tmp_path / "cancelled.mkv"
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    dialog.path.setText(str(output))
    # The controller reports progress on the GUI thread as each frame arrives: press Cancel at the first one.
    controller.runs.sig_progress.connect(lambda progress: progress.done and dialog.cancel_button.click())
    assert export(qtbot, dialog, controller) == [False, "The export was cancelled."]
    assert not output.exists()
    assert dialog.export_button.isEnabled()
    assert dialog.cancel_button.text() == "Close"  # nothing left to cancel: the button closes the dialog


def test_the_button_that_stops_an_export_says_cancel_even_after_an_earlier_export(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    controller = window.controller
    dialog = open_dialog(qtbot, window)
    dialog.path.setText(str(tmp_path / "first.mp4"))
    export(qtbot, dialog, controller)
    assert dialog.cancel_button.text() == "Close"  # done: the button closes the dialog
    assert _looks_alike(dialog.cancel_button.icon(), icon("close"))  # not the stop sign of a run
    dialog.path.setText(str(tmp_path / "second.mp4"))
    with qtbot.waitSignal(controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS):
        assert dialog.start_export()
        assert dialog.cancel_button.text() == "Cancel"  # while it runs, the button stops the export
        assert _looks_alike(dialog.cancel_button.icon(), icon("cancel"))
    assert dialog.cancel_button.text() == "Close"


def _looks_alike(shown: QIcon, expected: QIcon) -> bool:
    return shown.pixmap(16, 16).toImage() == expected.pixmap(16, 16).toImage()


def test_default_output_names() -> None:
    assert default_output(Path("/films/a.mp4"), "h264") == Path("/films/a_colorized.mp4")
    assert default_output(Path("/films/a.mp4"), "prores") == Path("/films/a_colorized.mov")
    assert default_output(Path("/films/a.mp4"), "tiff16") == Path("/films/a_colorized")


def test_the_default_output_leaves_read_only_media_and_the_program_alone(tmp_path: Path, monkeypatch) -> None:
    import colormnet
    from app.model import paths

    videos = tmp_path / "Videos"
    film = tmp_path / "film.mp4"
    assert default_output(film, "h264", videos) == tmp_path / "film_colorized.mp4"  # a folder one may write
    demo = Path(colormnet.__file__).parent / "data" / "demo" / "realshort.mp4"
    assert default_output(demo, "h264", videos) == videos / "realshort_colorized.mp4"  # not into the program
    assert default_output(tmp_path / "gone" / "a.mp4", "ffv1", videos) == videos / "a_colorized.mkv"
    monkeypatch.setattr(paths.os, "access", lambda _path, _mode: False)  # read-only media
    assert default_output(film, "tiff16", videos) == videos / "film_colorized"


def test_a_range_larger_than_the_frame_cache_exports(qtbot, window: MainWindow, tmp_path: Path,
                                                     colour_frames: dict[int, Path]) -> None:
    controller = window.controller
    add_exemplar(qtbot, controller, colour_frames[18], 18)  # frames before 18 come backwards, or fused late
    wait_for_segments(qtbot, controller, 2)
    cache = controller._session_worker._cache
    assert cache is not None
    cache.set_limit(1)  # every frame but the last one put is forgotten at once
    dialog = open_dialog(qtbot, window)
    output = tmp_path / "small_cache.mkv"
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    dialog.path.setText(str(output))
    exporting: list[bool] = []
    controller.runs.sig_progress.connect(lambda _progress: exporting.append(controller.runs.exporting))
    assert export(qtbot, dialog, controller) == [True, str(output)]
    assert exporting and all(exporting) and not controller.runs.exporting
    with VideoReader(output) as reader:
        assert reader.info.frame_count == controller.frame_count


def test_the_status_tells_one_time_left_for_the_whole_export(qtbot, window: MainWindow, monkeypatch) -> None:
    from app.jobs import ExportJob, SegmentInfo
    from app.progress import ExportMeter, Progress

    segments = [SegmentInfo(0, 6, 0, 0, "a"), SegmentInfo(6, 36, 6, 6, "b")]
    monkeypatch.setattr(Controller, "segments", property(lambda _self: segments))
    dialog = open_dialog(qtbot, window)
    seconds = iter([0.0, 6.0, 8.0])  # when frames 2, 5 and 6 are written
    dialog._writing = ExportMeter(clock=lambda: next(seconds))
    dialog._job = ExportJob(Path("film.mkv"), "ffv1", 0, 12, audio=False, overwrite=False)
    dialog._set_running(True)  # as when an export starts
    shown = []

    def report(colorizing: Progress | None = None, written: int | None = None) -> str:
        if colorizing is not None:
            dialog._on_controller_progress(colorizing)
        if written is not None:
            dialog._on_controller_export_progress(written, 12)
        shown.append(dialog.status.text())
        return shown[-1]

    assert report(written=0) == "0 / 12 frames written"
    # the first segment's colorizing, with counts and a time left of its own: told in words, not as a second ETA
    first = Progress(done=3, total=10, fps=1.0, eta_seconds=7.0)
    assert report(first) == "Colorizing frames 0–5 · 0 / 12 frames written"
    assert report(written=2) == "Colorizing frames 0–5 · 2 / 12 frames written"
    assert report(written=5) == "Colorizing frames 0–5 · 5 / 12 frames written, 0:14 left"  # 7 frames at 2 s each
    assert report(Progress(done=10, total=10, fps=1.0, eta_seconds=0.0)) == "5 / 12 frames written, 0:14 left"
    assert report(written=6) == "6 / 12 frames written, 0:12 left"
    # the next segment's colorizing starts its own count: the time left still follows the frames written
    second = Progress(done=2, total=40, fps=10.0, eta_seconds=3.8)
    assert report(second) == "Colorizing frames 6–11 · 6 / 12 frames written, 0:12 left"
    assert all(text.count("left") <= 1 for text in shown)
    assert dialog.progress.value() == 6 and dialog.progress.maximum() == 12


def test_while_exporting_the_viewer_shows_the_frames_the_export_colorizes(window: MainWindow, monkeypatch) -> None:
    import numpy as np

    from app.jobs import ColorizedFrame
    from app.run_control import RunControl

    controller = window.controller
    rgb = np.zeros((240, 320, 3), np.uint8)
    controller._fresh = ColorizedFrame(5, "an-export-key", rgb, 1, 1, "")  # another precision, another key
    assert controller.key_at(5) != "an-export-key"
    assert controller._fresh_colour(5) is None  # not the preview's frame
    monkeypatch.setattr(RunControl, "exporting", property(lambda _self: True))
    assert controller._fresh_colour(5) is rgb
    assert controller._fresh_colour(6) is None


def test_a_problem_with_the_output_goes_once_the_output_is_changed(qtbot, window: MainWindow, tmp_path: Path) -> None:
    dialog = open_dialog(qtbot, window)
    dialog.path.setText(str(window.controller.project.video))
    assert not dialog.start_export()
    assert "is the input" in dialog.status.text()

    dialog.path.setText(str(tmp_path / "film.mp4"))
    assert dialog.status.text() == ""  # no longer about what the field holds
    dialog.path.setText(str(window.controller.project.video))
    assert not dialog.start_export()
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    assert dialog.status.text() == ""


def test_browse_is_off_while_the_export_runs(qtbot, window: MainWindow, tmp_path: Path) -> None:
    controller = window.controller
    dialog = open_dialog(qtbot, window)
    assert dialog.browse.isEnabled()
    dialog.path.setText(str(tmp_path / "film.mp4"))
    with qtbot.waitSignal(controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS):
        assert dialog.start_export()
        assert not dialog.browse.isEnabled() and not dialog.path.isEnabled()  # the output cannot change mid-way
    assert dialog.browse.isEnabled()
    assert dialog.status.text().startswith("Exported to")
