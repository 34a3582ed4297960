"""bf16 previews on a CPU that computes bf16 natively: what the status bar, settings and export dialog say, and
exports computed again in fp32 under their own cache keys, and shown in place of the previews afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from app.engine_choice import EngineStatus
from app.model.engine_settings import EXPORT_PRECISION_NOTE, describe_precision
from app.widgets.export_dialog import ExportDialog
from app.widgets.main_window import MainWindow
from app.widgets.settings_dialog import SettingsDialog
from app.widgets.status_bar import StudioStatusBar
from tests.app import test_export
from tests.app.conftest import RUN_TIMEOUT_MS

window = test_export.window  # the fixture: a window on realshort.mp4 with an exemplar at frame 0


def test_describe_precision() -> None:
    assert describe_precision("fp32", "fp32") == "fp32"
    assert describe_precision("bf16", "fp32") == "bf16 preview · fp32 export"


def _status(state: str, device: str = "", precision: str = "", *, running: str = "colormnet", random: bool = False,
            why: str = "", detail: str = "") -> EngineStatus:
    return EngineStatus(state, True, "colormnet", running, device, precision, random, why, detail)


def test_status_bar_shows_the_engine_running_with_its_device_and_precision(qtbot) -> None:
    bar = StudioStatusBar(QAction("Cancel"))
    qtbot.addWidget(bar)
    bar.show_engine(_status("ready", "cpu", "bf16 preview · fp32 export"))
    assert bar.device_label.text() == "ColorMNet · CPU · bf16 preview · fp32 export"
    assert "fp32" in bar.device_label.toolTip() and "Settings" in bar.device_label.toolTip()
    bar.show_engine(_status("ready", "cuda:0", "fp16", random=True))
    assert bar.device_label.text() == "ColorMNet · CUDA:0 · fp16 (random weights)"
    assert bar.device_label.toolTip() == bar.device_label.text()  # the whole text, where it is cut off
    bar.show_engine(_status("ready", "cpu", "fp32", running="propagate", why="fallback: no usable ColorMNet weights",
                            detail="The checkpoint is missing."))
    assert bar.device_label.text() == "Propagate · CPU · fp32 — fallback: no usable ColorMNet weights"
    assert "The checkpoint is missing." in bar.device_label.toolTip()
    bar.show_engine(_status("loading"))
    assert bar.device_label.text() == "Loading ColorMNet…"
    bar.show_engine(_status("idle"))
    assert bar.device_label.text() == "ColorMNet · waiting for a video"


@pytest.mark.usefixtures("emulated_bf16")  # before the window's session opens
def test_bf16_previews_and_fp32_exports(qtbot, window: MainWindow, tmp_path: Path) -> None:
    controller = window.controller
    assert controller.project.settings.precision == "auto"
    assert window.status.device_label.text() == "ColorMNet · CPU · bf16 preview · fp32 export (random weights)"
    preview_key = controller.segments[0].key
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 2)
    assert controller.colorized[:2].all()
    controller.set_current_frame(0)
    controller.edits.set_in_point()
    controller.set_current_frame(3)
    controller.edits.set_out_point()
    dialog = ExportDialog(controller, window)
    qtbot.addWidget(dialog)
    assert EXPORT_PRECISION_NOTE in [label.text() for label in dialog.findChildren(type(dialog.status))]
    output = tmp_path / "colorized.mp4"
    dialog.path.setText(str(output))
    exported: list[tuple[int, str]] = []
    controller._session_worker.sig_frame.connect(lambda frame: exported.append((frame.index, frame.key)))
    with qtbot.waitSignal(controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS) as finished:
        assert dialog.start_export()
    assert finished.args == [True, str(output)]
    assert [index for index, _ in exported] == [0, 1, 2, 3]  # the frames previewed in bf16 were computed again
    export_key = controller.segments[0].export_key
    assert {key for _, key in exported} == {export_key} != {preview_key}  # under the fp32 export's own cache key
    assert controller.segments[0].key == preview_key  # the previews keep their own frames

    # the frames the export rendered count as colorized and are shown, in fp32, where there are any
    assert controller.colorized[:4].all() and not controller.colorized[4:].any()
    assert [controller.key_at(i) for i in (0, 2, 4)] == [export_key, export_key, preview_key]
    with qtbot.waitSignal(controller.sig_frame_shown, timeout=RUN_TIMEOUT_MS,  # frame 2 was never previewed
                          check_params_cb=lambda index, _source, colour: index == 2 and colour is not None):
        controller.set_current_frame(2)
    started: list[int] = []
    controller._session_worker.sig_run_started.connect(lambda _kind, count: started.append(count))
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        controller.runs.colorize_range(0, 6)
    assert started == [2]  # a preview leaves the fp32 frames alone: frames 4 and 5 only
    assert controller.colorized[:6].all() and controller.key_at(3) == export_key


@pytest.mark.usefixtures("emulated_bf16")
def test_settings_offer_bf16_for_the_cpu(qtbot, window: MainWindow) -> None:
    dialog = SettingsDialog(window.controller.project.settings, 1.0, ["colormnet"], window)
    qtbot.addWidget(dialog)
    labels = [dialog.precision.itemText(i) for i in range(dialog.precision.count())]
    assert any("bf16" in label and "CPU" in label for label in labels)
    assert "bf16 previews" in dialog.precision.toolTip()
