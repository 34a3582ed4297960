"""Exemplar markers on the timeline: dragged to move their exemplar (undoable), and their context menu."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtWidgets import QFileDialog

from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


def _marker_point(window: MainWindow, frame: int) -> QPoint:
    bar = window.timeline.bar
    return QPointF(bar.x_of(frame + 0.5), 22).toPoint()


def test_dragging_a_keyframe_moves_it_as_a_reference_and_undo_puts_it_back(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[4], 4, kind="keyframe")
    bar = editor.timeline.bar
    assert bar.marker_at(QPointF(_marker_point(editor, 4))) == 4
    assert bar.marker_at(QPointF(bar.x_of(4.5), bar.height() - 2)) is None  # only the marker row grabs markers
    moved: list[tuple[int, int]] = []
    bar.sig_marker_moved.connect(lambda a, b: moved.append((a, b)))
    scrubbed: list[int] = []
    bar.sig_scrubbed.connect(scrubbed.append)
    qtbot.mousePress(bar, Qt.MouseButton.LeftButton, pos=_marker_point(editor, 4))  # type: ignore[attr-defined]
    qtbot.mouseMove(bar, _marker_point(editor, 20))  # type: ignore[attr-defined]
    qtbot.mouseRelease(bar, Qt.MouseButton.LeftButton, pos=_marker_point(editor, 20))  # type: ignore[attr-defined]
    assert moved == [(4, 20)] and scrubbed == []  # a marker drag is not a scrub
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=_marker_point(editor, 20))  # type: ignore[attr-defined]
    assert scrubbed == [20] and moved == [(4, 20)]  # a click on a marker goes to its frame
    entry = c.project.exemplar_at(20)
    assert entry is not None and entry.kind == "reference" and c.project.exemplar_at(4) is None
    assert "now used as a reference" in editor.statusBar().currentMessage()
    assert (20, "reference") in bar.markers
    c.history.stack.undo()  # one step undoes the move and the change of kind
    back = c.project.exemplar_at(4)
    assert back is not None and back.kind == "keyframe" and c.project.exemplar_at(20) is None


def test_an_auto_exemplar_used_as_a_keyframe_moves_as_a_reference(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    with qtbot.waitSignal(c.engine.sig_resolved_kinds, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert add_exemplar(qtbot, c, colour_frames[4], 4)  # frame 4's own colours: the session takes a keyframe
    assert c.project.exemplar_at(4).kind == "auto" and editor.timeline.bar.resolved == {4: "keyframe"}  # type: ignore[union-attr]
    assert editor.markers.move(4, 6)  # two frames on, it would still pass for one: the camera hardly moves
    entry = c.project.exemplar_at(6)
    assert entry is not None and entry.kind == "reference"
    assert editor.statusBar().currentMessage().startswith(
        "The exemplar (used as a keyframe) moved from frame 4 to frame 6 is now used as a reference")
    c.history.stack.undo()
    assert c.project.exemplar_at(4).kind == "auto" and c.project.exemplar_at(6) is None  # type: ignore[union-attr]


def test_a_reference_keeps_its_kind_and_a_refused_move_changes_nothing(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0, kind="reference")
    assert add_exemplar(qtbot, c, colour_frames[18], 18)
    depth = c.history.stack.count()
    assert editor.markers.move(0, 10)
    assert c.project.exemplar_at(10).kind == "reference"  # type: ignore[union-attr]
    assert not editor.markers.move(10, 18)  # taken
    qtbot.waitUntil(lambda: editor.last_message is not None, timeout=5_000)  # type: ignore[attr-defined]
    assert "already has an exemplar" in editor.last_message.text()  # type: ignore[union-attr]
    assert c.history.stack.count() == depth + 1 and c.project.exemplar_at(10) is not None


def test_the_marker_menu_jumps_changes_kind_replaces_and_removes(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path], monkeypatch: object  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[18], 18)
    menu = editor.markers.build_menu(18, editor)
    assert menu is not None and editor.markers.build_menu(5) is None
    actions = {a.objectName(): a for a in menu.findChildren(type(menu.actions()[0]))}
    assert not actions["add_reference"].isEnabled()  # propagate takes no further references
    menu.actions()[0].trigger()  # Go to Frame 18
    assert c.current_frame == 18
    actions["kind_keyframe"].trigger()
    assert c.project.exemplar_at(18).kind == "keyframe"  # type: ignore[union-attr]
    monkeypatch.setattr(  # type: ignore[attr-defined]
        QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(colour_frames[30]), "")
    )
    with qtbot.waitSignal(c.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        actions["replace_exemplar"].trigger()
    assert c.project.exemplar_at(18).name == colour_frames[30].name  # type: ignore[union-attr]
    actions["remove_exemplar"].trigger()
    assert c.project.exemplar_at(18) is None


def test_right_clicking_a_marker_opens_its_menu(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[18], 18)
    bar = editor.timeline.bar
    shown: list[int] = []
    bar.sig_marker_menu.connect(lambda frame, where: shown.append(frame))
    from PySide6.QtGui import QContextMenuEvent

    point = _marker_point(editor, 18)
    bar.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, bar.mapToGlobal(point)))
    assert shown == [18]
    assert editor.markers.menu is not None and editor.markers.menu.isVisible()
    editor.markers.menu.close()


def test_move_to_frame_from_the_menu_moves_a_keyframe_as_a_reference(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path], monkeypatch: object  # noqa: F811
) -> None:
    from PySide6.QtWidgets import QInputDialog

    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[4], 4, kind="keyframe")
    editor.exemplars.select_frame(4)
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args, **kwargs: (25, True))  # type: ignore[attr-defined]
    editor.actions_by_name["move_exemplar"].trigger()
    entry = c.project.exemplar_at(25)
    assert entry is not None and entry.kind == "reference" and c.project.exemplar_at(4) is None
    assert "now used as a reference" in editor.statusBar().currentMessage()
    assert editor.exemplars.selected_frame() == 25
    c.history.stack.undo()  # one step, as for a dragged marker
    back = c.project.exemplar_at(4)
    assert back is not None and back.kind == "keyframe"
