"""Undo and redo of every project edit, the unsaved-changes mark from the undo stack, and the debounced autosave."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.autosave import AUTOSAVE_DELAY_MS
from app.model import autosave
from app.widgets.main_window import MainWindow
from tests.app.conftest import add_exemplar


def _undo(qtbot, window: MainWindow) -> None:
    qtbot.keyClick(window.viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def _redo(qtbot, window: MainWindow, key: Qt.Key = Qt.Key.Key_Y) -> None:
    modifiers = Qt.KeyboardModifier.ControlModifier
    if key == Qt.Key.Key_Z:
        modifiers |= Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(window.viewer, key, modifiers)


def _exemplars(window: MainWindow) -> list[tuple[int, str]]:
    return [(e.frame, e.kind) for e in window.controller.project.exemplars]


def test_every_edit_undoes_and_redoes_with_the_standard_keys(
    qtbot, window: MainWindow, colour_frames: dict[int, Path]
) -> None:
    c = window.controller
    window.viewer.setFocus()
    assert not window.actions_by_name["undo"].isEnabled()
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    assert add_exemplar(qtbot, c, colour_frames[18], 18)
    assert c.edits.move_exemplar(18, 20)
    assert c.edits.set_exemplar_kind(20, "reference")
    c.edits.set_in_point(3)
    c.edits.set_out_point(30)
    assert c.edits.remove_exemplar(0)
    assert _exemplars(window) == [(20, "reference")]
    assert window.actions_by_name["undo"].text() == "&Undo Remove Exemplar at Frame 0"
    assert [window.controller.history.stack.text(i) for i in range(c.history.stack.count())] == [
        "Add Exemplar at Frame 0", "Add Exemplar at Frame 18", "Move Exemplar from Frame 18 to Frame 20",
        "Use Exemplar at Frame 20 as Reference", "Set In Point", "Set Out Point", "Remove Exemplar at Frame 0",
    ]  # fmt: skip

    _undo(qtbot, window)
    assert window.actions_by_name["redo"].text() == "&Redo Remove Exemplar at Frame 0"
    assert _exemplars(window) == [(0, "auto"), (20, "reference")]
    _undo(qtbot, window)
    _undo(qtbot, window)
    assert (c.project.in_point, c.project.out_point) == (None, None)
    _undo(qtbot, window)
    assert _exemplars(window) == [(0, "auto"), (20, "auto")]
    _undo(qtbot, window)
    assert _exemplars(window) == [(0, "auto"), (18, "auto")]
    qtbot.waitUntil(  # the session gets the restored list
        lambda: sorted({s.exemplar_frame for s in c.segments}) == [0, 18], timeout=30_000
    )

    _redo(qtbot, window, Qt.Key.Key_Y)
    assert _exemplars(window) == [(0, "auto"), (20, "auto")]
    _redo(qtbot, window, Qt.Key.Key_Z)
    assert _exemplars(window) == [(0, "auto"), (20, "reference")]
    qtbot.waitUntil(lambda: sorted({s.exemplar_frame for s in c.segments}) == [0, 20], timeout=30_000)
    assert window.exemplars.list.count() == 2  # the panel shows the restored list


def test_undo_and_redo_name_the_frame_of_each_exemplar_edit(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], tmp_path: Path
) -> None:
    c, undo, redo = window.controller, window.actions_by_name["undo"], window.actions_by_name["redo"]
    assert add_exemplar(qtbot, c, colour_frames[0], 0, kind="keyframe")
    assert undo.text() == "&Undo Add Exemplar at Frame 0"
    with qtbot.waitSignal(c.edits.sig_edit_finished, timeout=30_000):
        c.edits.replace_exemplar(0, colour_frames[4])
    assert undo.text() == "&Undo Replace Exemplar Image at Frame 0"
    assert window.markers.move(0, 5)  # a keyframe dragged on the timeline: moved and made a reference, one step
    assert undo.text() == "&Undo Move Exemplar from Frame 0 to Frame 5"
    assert c.edits.set_exemplar_kind(5, "auto")
    assert undo.text() == "&Undo Use Exemplar at Frame 5 as Auto"
    c.project.add_reference(5, colour_frames[18])
    assert c.edits.remove_reference(5, 0)
    assert undo.text() == "&Undo Remove Reference Image at Frame 5"
    undo.trigger()
    undo.trigger()
    assert redo.text() == "&Redo Use Exemplar at Frame 5 as Auto"
    undo.trigger()
    assert redo.text() == "&Redo Move Exemplar from Frame 0 to Frame 5" and c.project.exemplar_at(0) is not None


def test_the_unsaved_mark_follows_the_undo_stack(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], tmp_path: Path, monkeypatch
) -> None:
    c = window.controller
    assert not window.isWindowModified()
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    assert window.isWindowModified()
    target = tmp_path / "saved.cmnproj"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    window.actions_by_name["save"].trigger()
    assert not window.isWindowModified() and not c.project.dirty
    c.edits.set_in_point(5)
    assert window.isWindowModified()
    c.history.stack.undo()  # back to the saved state
    assert not window.isWindowModified() and not c.project.dirty
    c.history.stack.undo()  # before the save: changed again
    assert window.isWindowModified() and c.project.exemplars == []
    c.history.stack.redo()
    assert not window.isWindowModified()


def test_undoing_a_removal_after_a_save_brings_the_image_back(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], tmp_path: Path
) -> None:
    c = window.controller
    assert add_exemplar(qtbot, c, colour_frames[4], 4)
    assert c.edits.remove_exemplar(4)
    assert c.files.save_project(tmp_path / "p.cmnproj")  # the save deletes the image no exemplar uses
    assert not any((tmp_path / "p_files" / "exemplars").glob("exemplar_*"))
    c.history.stack.undo()
    entry = c.project.exemplar_at(4)
    assert entry is not None and entry.image.is_file()
    assert entry.image.read_bytes() == colour_frames[4].read_bytes()


def test_a_refused_edit_records_nothing(qtbot, window: MainWindow, colour_frames: dict[int, Path]) -> None:
    c = window.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    assert add_exemplar(qtbot, c, colour_frames[4], 4)
    count = c.history.stack.count()
    assert not c.edits.move_exemplar(4, 0)  # occupied
    assert not c.edits.remove_exemplar(9)  # no exemplar there
    assert not add_exemplar(qtbot, c, colour_frames[18], 0)  # occupied
    assert c.history.stack.count() == count


def test_autosave_follows_each_edit_off_the_gui_thread(
    qtbot, window: MainWindow, colour_frames: dict[int, Path], monkeypatch
) -> None:
    written_on: list[str] = []
    original = autosave._write_snapshot

    def recording(path: Path, data: dict) -> None:
        written_on.append(threading.current_thread().name)
        original(path, data)

    monkeypatch.setattr(autosave, "_write_snapshot", recording)
    c = window.controller
    folder = c.paths.autosave
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    assert window.autosaver.pending and not list(folder.glob("*.cmnproj"))  # debounced, not written at once
    c.edits.set_in_point(3)
    qtbot.waitUntil(lambda: len(list(folder.glob("*.cmnproj"))) == 1, timeout=AUTOSAVE_DELAY_MS + 5000)
    window.autosaver.wait()
    assert written_on and all(name.startswith("autosave") for name in written_on)
    assert written_on != [threading.main_thread().name]
    restored = autosave.restore(next(folder.glob("*.cmnproj")))
    assert restored.in_point == 3 and [e.frame for e in restored.exemplars] == [0]
    assert len(written_on) == 1  # two edits within the delay: one write

    c.edits.set_out_point(20)
    window.commands.write_autosave()  # written at once and waited for
    assert autosave.restore(next(folder.glob("*.cmnproj"))).out_point == 20
    window.autosaver.discard(c.project)
    window.autosaver.wait()
    assert not list(folder.glob("*.cmnproj"))
