"""Every export from the app is documented by the library's record (``NAME.colormnet.json``), once complete."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.jobs import ExportJob
from app.widgets.export_dialog import ExportDialog
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, wait_for_segments
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export(qtbot, window: MainWindow, job: ExportJob) -> list[object]:
    """Run ``job`` through the controller and return what ``sig_export_finished`` said."""
    with qtbot.waitSignal(window.controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS) as finished:
        window.controller.runs.export(job)
    return list(finished.args)


@pytest.fixture
def one_exemplar(qtbot, editor: MainWindow, colour_frames: dict[int, Path]) -> MainWindow:  # noqa: F811
    """The editor with the true colours of frame 0 pinned there."""
    assert add_exemplar(qtbot, editor.controller, colour_frames[0], 0)
    wait_for_segments(qtbot, editor.controller, 1)
    return editor


def test_an_export_writes_its_record(qtbot, editor: MainWindow, colour_frames: dict[int, Path], tmp_path: Path) -> None:  # noqa: F811
    controller = editor.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0, kind="keyframe")
    assert add_exemplar(qtbot, controller, colour_frames[18], 18, kind="reference")
    wait_for_segments(qtbot, controller, 2)
    output = tmp_path / "film.mkv"
    assert export(qtbot, editor, ExportJob(output, "ffv1", 0, 6, audio=False, overwrite=False)) == [True, str(output)]
    record = json.loads((tmp_path / "film.mkv.colormnet.json").read_text())
    assert record["engine"]["name"] == "propagate"
    assert record["engine"]["precision"] == "fp32"
    assert "inference" not in record["settings"]  # ColorMNet's memory schedule: not this engine's
    assert record["output"] == {"file": "film.mkv", "codec": "ffv1", "frames": [0, 6]}
    assert record["source"]["file"] == "realshort.mp4"
    exemplars = [(e["frame"], e["kind"], e["sha256"]) for e in record["exemplars"]]
    assert exemplars == [(0, "keyframe", sha256(colour_frames[0])), (18, "reference", sha256(colour_frames[18]))]
    project_files = {e.frame: e.image for e in controller.project.exemplars}
    assert [e["file"] for e in record["exemplars"]] == [project_files[0].name, project_files[18].name]
    assert [e["from"] for e in record["exemplars"]] == [colour_frames[0].name, colour_frames[18].name]  # as pinned
    shots = [(s["start"], s["stop"]) for s in record["shots"]]
    assert shots == ([(s.start, s.stop) for s in controller.shot_edits.shots] or [(0, 36)])
    assert shots[0][0] == 0 and shots[-1][1] == 36


def test_a_frame_folder_keeps_its_record_inside(qtbot, one_exemplar: MainWindow, tmp_path: Path) -> None:
    window = one_exemplar
    output = tmp_path / "reel"
    assert export(qtbot, window, ExportJob(output, "png16", 0, 2, audio=False, overwrite=False))[0] is True
    record = json.loads((output / "reel.colormnet.json").read_text())
    assert record["output"]["frames"] == [0, 2]
    assert not (tmp_path / "reel.colormnet.json").exists()  # nothing beside the folder the user named


def test_a_cancelled_export_writes_no_record(qtbot, one_exemplar: MainWindow, tmp_path: Path) -> None:
    window, controller = one_exemplar, one_exemplar.controller
    output = tmp_path / "cancelled.mkv"
    controller.runs.sig_progress.connect(lambda progress: progress.done and controller.runs.cancel())
    finished = export(qtbot, window, ExportJob(output, "ffv1", 0, 36, audio=False, overwrite=False))
    assert finished == [False, "The export was cancelled."]
    assert not output.exists()
    assert not (tmp_path / "cancelled.mkv.colormnet.json").exists()


def test_an_old_record_is_replaced_only_when_agreed(qtbot, one_exemplar: MainWindow, tmp_path: Path, answers) -> None:
    window, controller = one_exemplar, one_exemplar.controller
    output = tmp_path / "film.mkv"
    record = tmp_path / "film.mkv.colormnet.json"
    record.write_text("keep me")
    dialog = ExportDialog(controller, window)
    qtbot.addWidget(dialog)
    dialog.codec.setCurrentIndex(dialog.codec.findData("ffv1"))
    dialog.path.setText(str(output))
    answers.queue.append(QMessageBox.StandardButton.No)
    assert not dialog.start_export()
    assert answers.asked[-1] == "Replace file?"
    assert record.read_text() == "keep me" and not output.exists()
    # Started without leave to replace it (as a script could), the export is refused before any frame is written.
    finished = export(qtbot, window, ExportJob(output, "ffv1", 0, 2, audio=False, overwrite=False))
    assert finished[0] is False and "already exists" in str(finished[1])
    assert record.read_text() == "keep me" and not output.exists()
    answers.queue.append(QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(controller.runs.sig_export_finished, timeout=RUN_TIMEOUT_MS) as finished_ok:
        assert dialog.start_export()
    assert finished_ok.args[0] is True
    assert json.loads(record.read_text())["engine"]["name"] == "propagate"
