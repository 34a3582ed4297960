"""Exemplar markers on the timeline: dragging one moves its exemplar, right-clicking one offers its edits.

A keyframe is the colour version of its own frame; moved to another frame it no longer matches the picture there, so
a dragged keyframe becomes a reference in the same undoable step ("Move Exemplar from Frame 10 to Frame 40" undoes
both), and the status bar says so. The menu's Replace, Add Reference and Remove select the marker's exemplar and
trigger the window's own actions, so they ask and behave exactly as the Exemplars menu does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint
from PySide6.QtGui import QAction, QActionGroup, QIcon
from PySide6.QtWidgets import QMenu, QWidget

from app.icons import icon
from app.model.project import KINDS
from colormnet.engines.registry import takes_references

if TYPE_CHECKING:
    from app.controller import Controller
    from app.widgets.exemplar_panel import ExemplarPanel
    from app.widgets.timeline import Timeline


def _add(menu: QMenu, name: str, text: str, slot: Callable[[], object], glyph: QIcon | None = None) -> QAction:
    """Add an action named ``name`` to ``menu`` that calls ``slot``."""
    action = QAction(glyph or QIcon(), text, menu)
    action.setObjectName(name)
    action.triggered.connect(lambda *_: slot())  # the checked flag is not the slot's
    menu.addAction(action)
    return action


class MarkerCommands(QObject):
    """Moves and edits exemplars from their timeline markers.

    Args:
        controller: The application controller (its edits are undoable).
        timeline: The timeline whose markers are dragged and right-clicked.
        exemplars: The exemplar panel (its selection is what the window's exemplar actions edit).
        actions: The window's actions by name (replace_exemplar, add_reference, remove_exemplar).
        notify: Shows a short note in the status bar.
    """

    def __init__(
        self,
        controller: Controller,
        timeline: Timeline,
        exemplars: ExemplarPanel,
        actions: dict[str, QAction],
        notify: Callable[[str], None],
    ) -> None:
        super().__init__(timeline)
        self._controller = controller
        self._timeline = timeline
        self._exemplars = exemplars
        self._actions = actions
        self._notify = notify
        self.menu: QMenu | None = None  # the menu last shown (kept for tests and to close it)
        timeline.bar.sig_marker_moved.connect(self.move)
        timeline.bar.sig_marker_menu.connect(self.show_menu)

    def move(self, frame: int, new_frame: int) -> bool:
        """Move the exemplar at ``frame`` to ``new_frame`` as one undoable step; False when refused.

        A keyframe becomes a reference there (it is the colour version of the frame it left), and so does an
        ``auto`` exemplar the session used as a keyframe: at the new frame it may still pass for one where the
        camera hardly moves, and its colours would be laid on a frame they do not show.
        """
        c = self._controller
        entry = c.project.exemplar_at(frame)
        if entry is None:
            return False
        count = c.project.frame_count or c.frame_count
        fits = 0 <= new_frame < count and c.project.exemplar_at(new_frame) is None
        used_as = self._timeline.bar.resolved.get(frame) if entry.kind == "auto" else entry.kind
        if used_as != "keyframe" or not fits:
            return c.edits.move_exemplar(frame, new_frame)  # refusals explain themselves
        moved = c.edits.move_exemplar(frame, new_frame, kind="reference")  # one edit: Before/Now compares it whole
        what = "keyframe" if entry.kind == "keyframe" else "exemplar (used as a keyframe)"
        if moved:
            self._notify(f"The {what} moved from frame {frame} to frame {new_frame} is now used as a reference "
                         "(it shows another frame); Undo moves it back.")
        return moved

    def build_menu(self, frame: int, parent: QWidget | None = None) -> QMenu | None:
        """The context menu of the marker at ``frame`` (None when there is no exemplar there)."""
        c = self._controller
        entry = c.project.exemplar_at(frame)
        if entry is None:
            return None
        menu = QMenu(parent)
        menu.setObjectName("marker_menu")
        _add(menu, "goto_frame", f"&Go to Frame {frame}", lambda: c.navigate(frame), icon("goto_frame"))
        menu.addSeparator()
        for name in ("replace_exemplar", "add_reference"):
            action = self._actions[name]
            item = _add(menu, name, action.text(), functools.partial(self._trigger_on, frame, name), action.icon())
            item.setEnabled(name == "replace_exemplar" or takes_references(c.project.settings.engine))
        kinds = menu.addMenu("Use &As")
        kinds.setObjectName("kind_menu")
        group = QActionGroup(kinds)
        for kind in KINDS:
            use_as = functools.partial(c.edits.set_exemplar_kind, frame, kind)
            choice = _add(kinds, f"kind_{kind}", kind.capitalize(), use_as)
            choice.setCheckable(True)
            choice.setChecked(kind == entry.kind)
            group.addAction(choice)
        menu.addSeparator()
        remove = self._actions["remove_exemplar"]
        _add(menu, "remove_exemplar", remove.text(), lambda: c.edits.remove_exemplar(frame), remove.icon())
        return menu

    def show_menu(self, frame: int, where: QPoint) -> None:
        """Show the context menu of the marker at ``frame`` at ``where`` (global coordinates)."""
        menu = self.build_menu(frame)
        if menu is None:
            return
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = menu
        menu.popup(where)

    def _trigger_on(self, frame: int, name: str) -> None:
        """Select the exemplar at ``frame`` and trigger the window's action ``name`` on it."""
        self._exemplars.select_frame(frame)
        action = self._actions[name]
        if action.isEnabled():
            action.trigger()
