"""What the status bar says when a run ends: finished, cancelled, or stopped on an error (never "finished" when no
frame was colorized because the run failed)."""

from __future__ import annotations

from pathlib import Path

from app.model.project import Project
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS


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
