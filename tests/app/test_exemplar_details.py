"""The exemplar panel: whole names within reach, the kind ``auto`` chose, and further references that can be
removed and reordered, shown only for engines that use them."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from app import image_loader, theme
from app.model.project import ExemplarEntry
from app.widgets import timeline
from app.widgets.exemplar_panel import ExemplarPanel
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)

_LONG = "restored_print_reel_03_the_harbour_at_calais_hand_coloured_lantern_slide_1906.png"


def _panel(qtbot: object, entries: list[ExemplarEntry]) -> ExemplarPanel:
    panel = ExemplarPanel([])
    qtbot.addWidget(panel, before_close_func=lambda widget: widget.icons.shutdown())  # type: ignore[attr-defined]
    panel.resize(280, 500)
    panel.show()
    qtbot.waitExposed(panel)  # type: ignore[attr-defined]
    panel.set_exemplars(entries)
    return panel


def test_long_names_are_shortened_in_the_middle_and_follow_the_width(
    qtbot: object, colour_frames: dict[int, Path]
) -> None:
    panel = _panel(qtbot, [ExemplarEntry(0, colour_frames[0], "auto", _LONG)])
    name = panel.item_lines(0)[1]
    assert name != _LONG and "…" in name and name.startswith("restored") and name.endswith(".png")
    metrics = panel.list.fontMetrics()
    assert metrics.horizontalAdvance(name) <= panel.list.viewport().width() - 112
    assert _LONG in panel.list.item(0).toolTip()
    panel.resize(900, 500)
    qtbot.waitUntil(lambda: panel.item_lines(0)[1] == _LONG)  # type: ignore[attr-defined]


def test_thumbnails_are_decoded_off_the_gui_thread_and_appear_when_ready(
    qtbot: object, colour_frames: dict[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded_on: list[str] = []
    release = threading.Event()
    decode = image_loader.decode_at_size

    def held_decode(path: Path, size: QSize) -> QImage:
        decoded_on.append(threading.current_thread().name)
        release.wait(10)  # a large scan, slow to decode
        return decode(path, size)

    monkeypatch.setattr(image_loader, "decode_at_size", held_decode)
    entries = [ExemplarEntry(0, colour_frames[0], "auto", "a.png", [colour_frames[18]]),
               ExemplarEntry(4, colour_frames[4], "keyframe", "b.png")]
    panel = _panel(qtbot, entries)  # returns while the decoding is held: the window does not wait for it
    panel.set_takes_references(True)
    assert all(panel.list.item(row).icon().isNull() for row in range(2))
    release.set()
    qtbot.waitUntil(lambda: not any(panel.list.item(r).icon().isNull() for r in range(2))  # type: ignore[attr-defined]
                    and not panel.references.item(0).icon().isNull())
    assert len(decoded_on) == 3 and threading.main_thread().name not in decoded_on
    panel.set_exemplars(entries)  # the same files again: from the cache, at once
    assert not panel.list.item(1).icon().isNull() and len(decoded_on) == 3


def test_the_badge_and_the_references_show_only_for_engines_that_use_them(
    qtbot: object, colour_frames: dict[int, Path]
) -> None:
    entry = ExemplarEntry(0, colour_frames[0], "keyframe", "a.png", [colour_frames[4], colour_frames[18]])
    panel = _panel(qtbot, [entry])
    assert panel.item_lines(0) == ["Frame 0 · keyframe", "a.png"] and panel.reference_box.isHidden()
    panel.set_takes_references(True)
    assert panel.item_lines(0)[-1] == "+2 references" and not panel.reference_box.isHidden()
    assert panel.references.count() == 2
    removed: list[tuple[int, int]] = []
    moved: list[tuple[int, int, int]] = []
    panel.sig_reference_removed.connect(lambda f, i: removed.append((f, i)))
    panel.sig_reference_moved.connect(lambda f, i, j: moved.append((f, i, j)))
    assert not panel.reference_buttons["up"].isEnabled()
    panel.reference_buttons["down"].click()
    panel.references.setCurrentRow(1)
    panel.reference_buttons["remove"].click()
    assert moved == [(0, 0, 1)] and removed == [(0, 1)]


def test_the_panel_says_what_auto_chose(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    with qtbot.waitSignal(c.engine.sig_resolved_kinds, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert add_exemplar(qtbot, c, colour_frames[0], 0)
    with qtbot.waitSignal(c.engine.sig_resolved_kinds, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        assert add_exemplar(qtbot, c, colour_frames[30], 4)  # another frame's colours: a reference
    panel = editor.exemplars
    assert panel.item_lines(0)[:2] == ["Frame 0", "auto → keyframe"]  # on two lines at the panel's default width
    assert panel.item_lines(1)[:2] == ["Frame 4", "auto → reference"]
    assert "luminance similarity" in panel.list.item(0).toolTip()
    panel.select_frame(0)
    assert panel.kind.itemText(0) == "Auto → keyframe"
    # the timeline draws each as what it was chosen to be: a keyframe filled, a reference hollow
    bar = editor.timeline.bar
    image = bar.grab().toImage()
    inside = [image.pixelColor(round(bar.x_of(frame + 0.5)), timeline._MARKER_TOP + timeline._MARKER_SIZE // 3)
              for frame in (0, 4)]
    assert inside[0] == theme.BRIGHT and inside[1] != theme.BRIGHT


def test_the_labels_fit_the_panel_at_its_default_width_without_scrolling_sideways(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c, panel = editor.controller, editor.exemplars
    for frame, image in ((0, colour_frames[0]), (30, colour_frames[18])):
        with qtbot.waitSignal(c.engine.sig_resolved_kinds, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
            assert add_exemplar(qtbot, c, image, frame)
    qtbot.waitUntil(lambda: not any(panel.list.item(r).icon().isNull() for r in range(2)))  # type: ignore[attr-defined]
    qtbot.wait(50)  # type: ignore[attr-defined]  # the list lays out its rows again with their thumbnails
    viewport = panel.list.viewport().width()
    for row in range(2):
        assert panel.list.visualItemRect(panel.list.item(row)).right() < viewport, row  # nothing cut off
    assert not panel.list.horizontalScrollBar().isVisible() and panel.list.horizontalScrollBar().maximum() == 0
    assert panel.item_lines(0)[:2] == ["Frame 0", "auto → keyframe"]  # too wide beside the thumbnail on one line
    assert panel.item_lines(1)[0] == "Frame 30" and panel.item_lines(1)[1].startswith("auto → ")
    editor.resize(2400, 900)  # a wider panel: one line again
    qtbot.waitUntil(lambda: panel.item_lines(0)[0] == "Frame 0 · auto → keyframe")  # type: ignore[attr-defined]


def test_references_are_removed_and_reordered_undoably(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path], tmp_path: Path  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    for index in (4, 18, 30):
        c.project.add_reference(0, shutil.copy(colour_frames[index], tmp_path / f"ref{index}.png"))
    names = lambda: [p.name for p in c.project.exemplar_at(0).references]  # type: ignore[union-attr]  # noqa: E731
    first = names()
    assert c.edits.move_reference(0, 2, 0)
    assert names() == [first[2], first[0], first[1]]
    assert c.edits.remove_reference(0, 1)
    assert names() == [first[2], first[1]]
    assert not c.edits.remove_reference(0, 5)  # no such reference: refused, nothing changes
    c.history.stack.undo()
    c.history.stack.undo()
    assert names() == first
    assert editor.exemplars.reference_box.isHidden()  # propagate does not use them


def test_the_first_exemplar_moves_neither_the_dock_s_edge_nor_the_use_as_row(
    qtbot: object, colour_frames: dict[int, Path]
) -> None:
    panel = _panel(qtbot, [])
    QApplication.processEvents()
    empty = (panel.sizeHint().width(), panel.kind.geometry().y())
    panel.set_exemplars([ExemplarEntry(0, colour_frames[0], "auto", "frame00.png")])
    QApplication.processEvents()
    assert (panel.sizeHint().width(), panel.kind.geometry().y()) == empty
