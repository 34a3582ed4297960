"""The project's edit history: one ``QUndoStack`` for every edit, and the unsaved-changes mark derived from it.

An edit is recorded as the project's editable state before and after it (exemplars with their kinds and references,
in and out points, the shot list and its hand-chosen links): undoing puts the earlier state back, whatever the edit
was. Edits are applied first and recorded after (``with history.edit("Remove exemplar"):``), so a refused edit
records nothing.

The project's unsaved-changes mark follows the stack's clean index: undoing back to the saved state clears it.
Changes kept outside the history (engine settings) keep the mark until the next save.

Saving deletes image copies no exemplar uses any more; an undone removal or replacement can need such an image
again, so each recorded edit keeps the bytes of the images it took away and writes them back when undone.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

if TYPE_CHECKING:
    from app.model.project import ExemplarEntry, Project
    from colormnet.shots import Shot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditableState:
    """What an undoable edit can change in a project."""

    exemplars: tuple[ExemplarEntry, ...]  # deep copies
    in_point: int | None
    out_point: int | None
    shots: tuple[Shot, ...] | None = None  # None: not found yet
    links: tuple[tuple[int, int], ...] = ()  # shot's first frame -> exemplar frame, chosen by hand

    @classmethod
    def of(cls, project: Project) -> EditableState:
        """The current state of ``project``."""
        shots = tuple(project.shots) if project.shots is not None else None
        links = tuple(sorted(project.shot_links.items()))
        return cls(tuple(copy.deepcopy(project.exemplars)), project.in_point, project.out_point, shots, links)

    def apply_to(self, project: Project) -> None:
        """Put this state into ``project`` (shots found after it was recorded stay: they are not an edit)."""
        project.exemplars = list(copy.deepcopy(self.exemplars))
        project.in_point, project.out_point = self.in_point, self.out_point
        if self.shots is not None:
            project.shots = list(self.shots)
        project.shot_links = dict(self.links)

    def images(self) -> set[Path]:
        """Every image file this state refers to."""
        return {image for e in self.exemplars for image in (e.image, *e.references)}


def _read_images(paths: set[Path]) -> dict[Path, bytes]:
    kept = {}
    for path in paths:
        try:
            kept[path] = path.read_bytes()
        except OSError as exc:  # a file already gone cannot be kept; the undo then reports the missing image
            logger.warning("cannot keep %s for undo: %s", path, exc)
    return kept


class _EditCommand(QUndoCommand):
    """One recorded edit: the states before and after it."""

    def __init__(self, history: ProjectHistory, text: str, before: EditableState, after: EditableState) -> None:
        super().__init__(text)
        # weak: the stack (C++) owns its commands, so a strong reference back would make a cycle that Python's
        # collector cannot see; it would live until the interpreter's finalization and abort the process there
        self._history = weakref.ref(history)
        self._before, self._after = before, after
        self._kept = _read_images(before.images() - after.images())  # images the edit took away
        self._applied = True  # the edit was applied before it was recorded

    def redo(self) -> None:
        if self._applied:
            self._applied = False  # QUndoStack.push calls redo once: the edit is already in the project
            return
        history = self._history()
        if history is not None:
            history.restore(self._after, self._before)

    def undo(self) -> None:
        for path, data in self._kept.items():
            if not path.exists():
                with contextlib.suppress(OSError):
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(data)
        history = self._history()
        if history is not None:
            history.restore(self._before, self._after)


class ProjectHistory(QObject):
    """The undo stack of the open project.

    Args:
        on_restored: Called after an undo or redo changed the project, with whether the exemplars changed (the
            session then needs the new list) or only the in and out points.
    """

    sig_dirty_changed = Signal(bool)
    """The project's unsaved-changes mark changed."""

    def __init__(self, on_restored: Callable[[bool], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.stack = QUndoStack(self)
        self._project: Project | None = None
        self._outside_changes = False  # edits kept outside the stack (engine settings) since the last save
        self._on_restored = on_restored
        self.stack.indexChanged.connect(self._on_stack_index_changed)

    def reset(self, project: Project) -> None:
        """Start an empty history on ``project`` (a restored autosave keeps its unsaved-changes mark)."""
        self._project = project
        self._outside_changes = project.dirty
        self.stack.clear()
        self.stack.setClean()
        self._update_dirty()

    @contextlib.contextmanager
    def edit(self, text: str) -> Iterator[None]:
        """Record the edit made inside the ``with`` block as one undoable step named ``text`` (if it changed)."""
        project = self._project
        before = EditableState.of(project) if project is not None else None
        yield
        if project is None or project is not self._project or before is None:
            return
        after = EditableState.of(project)
        if after != before:
            self.stack.push(_EditCommand(self, text, before, after))
        else:
            self._update_dirty()  # the project's own methods mark it dirty even when nothing changed

    def close(self) -> None:
        """Drop the history before the application quits, so its commands are deleted while Python still runs.

        The project keeps its unsaved-changes mark.
        """
        self._project = None
        self.stack.indexChanged.disconnect(self._on_stack_index_changed)
        self.stack.clear()

    def mark_saved(self) -> None:
        """The project was saved: this is the clean state."""
        self._outside_changes = False
        self.stack.setClean()
        self._update_dirty()

    def mark_changed_outside(self) -> None:
        """Something not in the history changed (the project has unsaved changes until the next save)."""
        self._outside_changes = True
        self._update_dirty()

    def restore(self, state: EditableState, other: EditableState) -> None:
        """Put ``state`` into the project (an undo or a redo; ``other`` is the state it replaces)."""
        if self._project is None:
            return
        state.apply_to(self._project)
        self._on_restored(state.exemplars != other.exemplars)

    def _on_stack_index_changed(self, index: int) -> None:
        self._update_dirty()

    def _update_dirty(self) -> None:
        if self._project is None:
            return
        dirty = self._outside_changes or not self.stack.isClean()
        changed = dirty != self._project.dirty
        self._project.dirty = dirty
        if changed:
            self.sig_dirty_changed.emit(dirty)
