"""Before/now after an exemplar change, the exemplar against its frame, and a pinned keyframe's own colours."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app import image_loader
from app.controller import Controller
from app.jobs import SegmentInfo
from app.render_compare import BeforeRenders
from app.widgets.main_window import MainWindow
from tests.app.conftest import RUN_TIMEOUT_MS, add_exemplar, wait_for_segments
from tests.app.editor_fixtures import editor, propagate_controller  # noqa: F401 (fixtures)


def _segment(start: int, stop: int, key: str) -> SegmentInfo:
    return SegmentInfo(start, stop, start, start, key)


def test_before_renders_follow_the_keys_that_changed() -> None:
    renders = BeforeRenders()
    cached = {"a": frozenset(range(0, 10)), "b": frozenset(), "c": frozenset(range(10, 20))}
    assert renders.update([_segment(0, 10, "a"), _segment(10, 20, "b")], cached.__getitem__) is False
    assert not renders.update([_segment(0, 10, "")], cached.__getitem__)  # keys not known yet: wait
    assert renders.update([_segment(0, 10, "x"), _segment(10, 20, "b")], lambda k: cached.get(k, frozenset()))
    assert renders.key_at(3) == "a" and renders.key_at(15) == "" and renders.describe() == "frames 0–9"
    # "b" was never rendered: changing it starts no comparison of its frames, and the earlier one ends.
    renders.update([_segment(0, 10, "x"), _segment(10, 20, "y")], lambda k: cached.get(k, frozenset()))
    assert renders.runs == []
    renders.ignore_next_change()
    renders.update([_segment(0, 20, "c")], lambda k: cached.get(k, frozenset({1})))
    assert renders.runs == []
    assert renders.update([_segment(0, 5, "d"), _segment(5, 20, "e")], lambda k: frozenset({1, 7}))
    assert renders.describe() == "frames 0–19"  # neighbouring runs read as one
    # Keys changed by something else than the exemplars (shots found, settings): no comparison, and it ends.
    assert renders.update([_segment(0, 20, "f")], lambda k: frozenset({1}), exemplars_edited=False)
    assert renders.runs == []


def test_before_renders_prefer_what_an_export_rendered() -> None:
    renders = BeforeRenders()
    cached = {"p": frozenset({0, 1, 2, 5, 12}), "e": frozenset({0, 1, 2, 3}), "q": frozenset({14})}
    renders.update([SegmentInfo(0, 10, 0, 0, "p", "e"), SegmentInfo(10, 20, 10, 10, "q", "f")], cached.__getitem__)
    changed = [SegmentInfo(0, 20, 0, 0, "x", "y")]
    assert renders.update(changed, lambda k: cached.get(k, frozenset()))
    # each frame from the export's render where there is one, else the preview's
    assert [renders.key_at(f) for f in (0, 3, 4, 9, 10, 14)] == ["e", "e", "p", "p", "q", "q"]
    assert renders.describe() == "frames 0–19"


def _colorize_all(qtbot: object, controller: Controller) -> None:
    with qtbot.waitSignal(controller.runs.sig_run_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        controller.runs.colorize_all()
    assert controller.colorized.all()


def _swap_exemplar(window: MainWindow, qtbot: object, colour_frames: dict[int, Path]) -> Controller:
    """Colorize everything from frame 0's exemplar, then replace its image: every frame has an earlier render."""
    c = window.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    wait_for_segments(qtbot, c, 1)
    _colorize_all(qtbot, c)
    with qtbot.waitSignal(c.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        c.edits.replace_exemplar(0, colour_frames[30])
    qtbot.waitUntil(lambda: bool(window.compare.renders.runs), timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    return c


def test_after_a_swap_before_and_now_can_be_compared_and_now_kept(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = _swap_exemplar(editor, qtbot, colour_frames)
    a = editor.actions_by_name
    assert editor.compare.bar.isVisible() and "The last change affects frames 0–35;" in editor.compare.bar.label.text()
    assert a["keep_before"].isEnabled() and not c.colorized.any()  # the new renders are not made yet
    c.navigate(5)
    qtbot.waitUntil(lambda: editor.viewer.frame_index == 5, timeout=10_000)  # type: ignore[attr-defined]
    assert editor.viewer.override_caption == ""
    a["compare_before"].setChecked(True)
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: editor.viewer.override_caption == "Before this change", timeout=10_000
    )
    editor.set_view_mode("wipe")
    assert editor.viewer.override_caption == "Before this change"  # the wipe compares the same two
    c.navigate(6)  # the earlier render follows the playhead
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: editor.viewer.frame_index == 6 and editor.viewer.override_caption == "Before this change",
        timeout=10_000,
    )
    a["compare_before"].setChecked(False)
    assert editor.viewer.override_caption == ""
    a["keep_now"].trigger()
    assert not editor.compare.bar.isVisible() and not a["compare_before"].isEnabled()
    assert c.project.exemplar_at(0).name == colour_frames[30].name  # type: ignore[union-attr]


def test_keep_before_undoes_the_swap_and_brings_the_earlier_renders_back(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = _swap_exemplar(editor, qtbot, colour_frames)
    editor.actions_by_name["keep_before"].trigger()
    assert c.project.exemplar_at(0).name == colour_frames[0].name  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: c.colorized.all(), timeout=RUN_TIMEOUT_MS)  # type: ignore[attr-defined]
    assert editor.compare.renders.runs == [] and not editor.compare.bar.isVisible()


def test_keep_before_after_further_edits_explains_itself(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = _swap_exemplar(editor, qtbot, colour_frames)
    c.edits.set_in_point(3)  # another edit on top of the swap
    editor.actions_by_name["keep_before"].trigger()
    assert "Other edits followed" in editor.statusBar().currentMessage()
    assert c.project.exemplar_at(0).name == colour_frames[30].name  # type: ignore[union-attr]


def test_the_exemplar_is_shown_against_its_colorized_frame(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    decoded_on: list[str] = []
    decode = image_loader.decode_at_size
    monkeypatch.setattr(image_loader, "decode_at_size",
                        lambda path, size: decoded_on.append(threading.current_thread().name) or decode(path, size))
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[18], 18, kind="reference")
    c.navigate(18)
    qtbot.waitUntil(lambda: editor.viewer.frame_index == 18, timeout=10_000)  # type: ignore[attr-defined]
    editor.actions_by_name["show_exemplar"].setChecked(True)  # shown once decoded, off the GUI thread
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: editor.viewer.override_caption == f"Exemplar · {colour_frames[18].name}", timeout=10_000)
    assert decoded_on and threading.main_thread().name not in decoded_on
    c.navigate(19)  # no exemplar there: the source again
    qtbot.waitUntil(lambda: editor.viewer.frame_index == 19, timeout=10_000)  # type: ignore[attr-defined]
    assert editor.viewer.override_caption == ""


def test_a_frame_pinned_with_ctrl_p_shows_its_own_colours(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path]  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0)
    wait_for_segments(qtbot, c, 1)
    _colorize_all(qtbot, c)
    c.navigate(10)
    qtbot.waitUntil(lambda: editor.viewer.frame_index == 10 and editor.viewer.has_color, timeout=10_000)  # type: ignore[attr-defined]
    with qtbot.waitSignal(c.edits.sig_edit_finished, timeout=RUN_TIMEOUT_MS):  # type: ignore[attr-defined]
        editor.actions_by_name["pin_frame"].trigger()
    wait_for_segments(qtbot, c, 2)
    qtbot.waitUntil(lambda: not c.colorized[10], timeout=10_000)  # type: ignore[attr-defined]
    qtbot.waitUntil(  # type: ignore[attr-defined]
        lambda: editor.viewer.stand_in_caption == "Keyframe exemplar (not colorized yet)", timeout=10_000
    )
    assert not editor.viewer.has_color
    editor.actions_by_name["show_exemplar"].setChecked(True)  # E: the exemplar takes the source's place
    qtbot.waitUntil(lambda: editor.viewer.override_caption.startswith("Exemplar · "), timeout=10_000)  # type: ignore[attr-defined]
    assert editor.viewer.captions == (editor.viewer.override_caption, "Keyframe exemplar (not colorized yet)")


@pytest.mark.parametrize("edit", ["move", "kind", "drag"])
def test_moving_an_exemplar_or_changing_its_use_can_be_compared_too(
    editor: MainWindow, qtbot: object, colour_frames: dict[int, Path], edit: str  # noqa: F811
) -> None:
    c = editor.controller
    assert add_exemplar(qtbot, c, colour_frames[0], 0) and add_exemplar(qtbot, c, colour_frames[18], 18, "keyframe")
    wait_for_segments(qtbot, c, 2)
    _colorize_all(qtbot, c)
    told: list[list[str]] = []
    c.sig_segments_changed.connect(lambda: told.append([s.key for s in c.segments]))
    {"move": lambda: c.edits.move_exemplar(18, 24), "kind": lambda: c.edits.set_exemplar_kind(18, "reference"),
     "drag": lambda: editor.markers.move(18, 24)}[edit]()
    qtbot.waitUntil(lambda: any(all(keys) for keys in told), timeout=20_000)  # type: ignore[attr-defined]
    qtbot.wait(200)  # a second answer (the drag told the session twice: moved, then a reference) would end it
    assert editor.compare.bar.isVisible(), edit
    assert editor.compare.renders.describe() == "frames 0–35"  # blended between the two exemplars: every frame
