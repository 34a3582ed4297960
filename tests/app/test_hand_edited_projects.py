"""Project files edited by hand, or opened on another copy of their film: what still works, and what the message says.

A file saved by an editor that writes a byte-order mark opens like any other; a syntax error is named by its line and
column, so the restorer can find it. An exemplar pinned past the end of the film (the project opened on a shorter
copy) is left out with a message naming it, and the other exemplars still colorize.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.controller import Controller
from app.model.project import Project, ProjectError
from tests.app.conftest import RUN_TIMEOUT_MS


def saved(project: Project, tmp_path: Path) -> Path:
    path = tmp_path / "film.cmnproj"
    project.save(path)
    return path


def test_a_file_with_a_byte_order_mark_opens(tmp_path: Path, project: Project) -> None:
    path = saved(project, tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as some text editors save UTF-8

    opened = Project.load(path)

    assert [e.frame for e in opened.exemplars] == [0, 18]


def test_a_syntax_error_is_named_by_its_line_and_column(tmp_path: Path, project: Project) -> None:
    path = saved(project, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if '"playhead"' in line)
    lines[row] = lines[row].rstrip(",")  # the comma after a value, forgotten
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(ProjectError) as refused:
        Project.load(path)

    message = str(refused.value)
    assert f"line {row + 2}" in message and "column" in message, message
    assert "\n" not in message


def open_with_exemplars_past_the_end(
    qtbot, controller: Controller, project: Project, tmp_path: Path, frames: list[int]
) -> list[str]:
    """Opens ``project`` saved with its second exemplar moved to ``frames[0]`` and copies of it at the other
    ``frames`` (realshort.mp4 has 36 frames); returns the errors told from then on."""
    path = saved(project, tmp_path)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["exemplars"] += [{**data["exemplars"][1], "frame": frame} for frame in frames[1:]]
    data["exemplars"][1]["frame"] = frames[0]
    path.write_text(json.dumps(data), encoding="utf-8")
    errors: list[str] = []
    controller.sig_error.connect(errors.append)
    opened = controller.files.read_project(path)
    assert opened is not None
    with qtbot.waitSignal(controller.sig_video_opened, timeout=RUN_TIMEOUT_MS):
        controller.files.open_read_project(opened, path)
    qtbot.waitUntil(lambda: any(s.key for s in controller.segments), timeout=RUN_TIMEOUT_MS)
    return errors


def test_an_exemplar_past_the_end_of_the_film_leaves_the_others_working(
    qtbot, controller: Controller, project: Project, tmp_path: Path
) -> None:
    errors = open_with_exemplars_past_the_end(qtbot, controller, project, tmp_path, [500])

    assert [s.exemplar_frame for s in controller.segments] == [0]  # the exemplar at frame 0 still colorizes
    assert errors and all("frame 500" in e and "past the end" in e and "Move to Frame" in e for e in errors), errors


def test_exemplars_left_out_are_told_in_one_message_and_not_again_at_every_edit(
    qtbot, controller: Controller, project: Project, tmp_path: Path
) -> None:
    errors = open_with_exemplars_past_the_end(qtbot, controller, project, tmp_path, [500, 600])
    assert len(errors) == 1 and "frame 500" in errors[0] and "frame 600" in errors[0], errors

    with qtbot.waitSignal(controller.sig_segments_changed, timeout=RUN_TIMEOUT_MS):
        assert controller.edits.set_exemplar_kind(0, "reference")  # an edit elsewhere
    assert len(errors) == 1, errors
    with qtbot.waitSignal(controller.sig_segments_changed, timeout=RUN_TIMEOUT_MS):
        assert controller.edits.move_exemplar(500, 20)  # one mended: the other is not told again
    qtbot.wait(200)
    assert len(errors) == 1, errors
