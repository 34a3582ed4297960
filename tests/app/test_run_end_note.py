"""What the status bar says when a run ends: finished, cancelled, or stopped on an error (never "finished" when no
frame was colorized because the run failed), or that the frames asked for were colorized already."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.jobs import RunRequest, SegmentInfo
from app.model.project import Project
from app.model.workspace import Workspace
from app.run_control import colorized_already
from app.widgets.main_window import MainWindow
from colormnet.shots import Shot
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, wait_for_segments
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


def test_a_run_that_fails_is_not_said_to_have_finished(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], realshort: Path, tmp_path: Path
) -> None:
    controller = window.controller
    project = Project.scratch(tmp_path / "scratch")
    project.video = realshort.resolve()
    project.add_exemplar(0, colour_frames[0])
    path = tmp_path / "film.cmnproj"
    project.save(path)
    Project.load(path).exemplars[0].image.unlink()  # the project's only exemplar image went missing
    opened = controller.files.read_project(path)
    assert opened is not None
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        controller.files.open_read_project(opened, path)
    errors: list[str] = []
    controller.sig_error.connect(errors.append)

    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name["colorize_all"].trigger()

    assert errors and "exemplar" in errors[-1]
    assert window.status.currentMessage() == "Colorization stopped on an error."


def run_to_its_end(qtbot, window: MainWindow, action: str) -> list[int]:
    """Trigger ``action`` and wait for its run's end: the frames it colorized."""
    colorized: list[int] = []
    window.controller.runs.sig_frame.connect(lambda frame, _live: colorized.append(frame.index))
    with qtbot.waitSignal(window.controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):
        window.actions_by_name[action].trigger()
    return colorized


def test_a_run_whose_frames_are_colorized_already_says_so(
    qtbot, editor: MainWindow, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    controller = editor.controller
    assert add_exemplar(qtbot, controller, colour_frames[0], 0)
    wait_for_segments(qtbot, controller, 1)
    controller.edits.set_in_point(2)
    controller.edits.set_out_point(9)

    assert run_to_its_end(qtbot, editor, "colorize_in_out")
    assert editor.status.currentMessage() == "Colorization finished."
    assert not run_to_its_end(qtbot, editor, "colorize_in_out")
    assert editor.status.currentMessage() == "Frames 2–9 are colorized already."

    assert run_to_its_end(qtbot, editor, "colorize_all")  # the frames outside In→Out are still to do
    assert editor.status.currentMessage() == "Colorization finished."
    assert not run_to_its_end(qtbot, editor, "colorize_all")
    assert editor.status.currentMessage() == "Every frame is colorized already."


@pytest.mark.parametrize(
    ("request_", "note"),
    [
        (RunRequest("segment", 12), "Frames 10–19 are colorized already."),
        (RunRequest("shot", 12), "Frames 5–35 are colorized already."),
        (RunRequest("from_here", 30), "Frames 30–35 are colorized already."),
        (RunRequest("range", 7, 8), "Frame 7 is colorized already."),
        (RunRequest("from_here", 0), "Every frame is colorized already."),
    ],
)
def test_the_note_names_the_frames_asked_for(request_: RunRequest, note: str, tmp_path: Path) -> None:
    project = Project.scratch(tmp_path / "scratch")
    project.shots = [Shot(0, 5, "start"), Shot(5, 36, "cut")]
    workspace = Workspace(project, colorized=np.zeros(36, dtype=bool))
    workspace.set_segments([
        SegmentInfo(0, 10, 0, 0, "a"), SegmentInfo(10, 20, 10, 10, "b"),
        SegmentInfo(20, 36, 20, 20, "c"),
    ])
    assert colorized_already(request_, workspace) == note
