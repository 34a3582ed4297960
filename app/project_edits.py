"""Edits of the project: exemplars, in/out points and engine settings.

Exemplars can be added (file, clipboard, drop, pinned frame), replaced, moved, removed and given a kind; with the
deepexemplar engine an exemplar can also be given further reference images. Every applied edit, in and out points
included, is one step of the project's history (:mod:`app.undo`), which Edit ▸ Undo and Redo walk; the name of an
exemplar edit says which frame it changed ("Undo Add Exemplar at Frame 250").

Adding, replacing and adding a reference need the image checked first (unreadable and grayscale images are refused
with the library's one-sentence message). Decoding an image can take longer than a GUI handler may, and the
library's image code imports torch, so the check runs on the frame loader's thread, as does writing the image of a
pinned frame or a pasted or dropped image into the project (a full-size PNG); the edit is applied when the answer
comes back and ``sig_edit_finished`` reports it. Moving, removing and changing the kind apply at once. Every
applied exemplar edit emits ``sig_exemplars_changed`` so the session gets the new list; a refused edit leaves the
project untouched and reports the message through ``sig_error``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.model.png_codec import encode_png
from colormnet.engines.registry import takes_references
from colormnet.errors import ColorMNetError, ExemplarError

if TYPE_CHECKING:
    from app.model.engine_settings import EngineSettings
    from app.model.workspace import Workspace
    from app.settings import AppSettings
    from app.undo import ProjectHistory

logger = logging.getLogger(__name__)


def move_text(frame: int, new_frame: int) -> str:
    """The name of moving an exemplar in the edit history (Edit ▸ Undo names it)."""
    return f"Move Exemplar from Frame {frame} to Frame {new_frame}"


ImageWriter = Callable[[], None]
"""Writes a pending edit's image file into the project (a pinned frame, a pasted image) on the frame loader's thread;
raises ExemplarError or OSError when it cannot."""


@dataclass(frozen=True)
class PendingEdit:
    """An add, replace or further reference waiting for its image to be checked."""

    op: str  # add | replace | reference
    frame: int
    image: Path
    kind: str
    name: str
    owned: bool  # the image file was written into the project by us (delete it when refused)


class ProjectEdits(QObject):
    """The user's edits of the open project, each one step of its history.

    Args:
        workspace: The open project.
        history: The project's edit history.
        settings: The persisted settings (engine settings are remembered there too).
    """

    sig_exemplars_changed = Signal()
    """An exemplar edit was applied: the session needs the new list."""
    sig_project_changed = Signal()
    """An edit that leaves the exemplars alone was applied (in/out points)."""
    sig_settings_changed = Signal()
    """The engine settings changed: the session reopens with them."""
    sig_edit_finished = Signal(bool)
    """An exemplar add or replace (which waits for its image to be checked) ended: whether it was applied."""
    sig_check_image = Signal(int, str, object)
    """Asks the frame loader to check an image: a token, the path and an :data:`ImageWriter` that writes the file
    first, or None (the answer goes to :meth:`on_image_checked`)."""
    sig_error = Signal(str)
    """An edit was refused; carries the one-sentence reason."""

    def __init__(self, workspace: Workspace, history: ProjectHistory, settings: AppSettings) -> None:
        super().__init__()
        self._workspace = workspace
        self._history = history
        self._settings = settings
        self._pending: dict[int, PendingEdit] = {}
        self._tokens = itertools.count(1)

    def forget(self) -> None:
        """Drop the edits waiting for their image (another project was opened)."""
        self._pending.clear()

    def _report(self, exc: ColorMNetError) -> None:
        self.sig_error.emit(str(exc))

    # -- edits that need the image checked --------------------------------------------------------------------

    def add_exemplar_file(self, path: str | Path, frame: int | None = None, *, kind: str = "auto") -> None:
        """Pin the image file at ``path`` at ``frame`` (the playhead by default) once it is checked."""
        frame = self._workspace.current_frame if frame is None else frame
        self._check_then_apply(PendingEdit("add", frame, Path(path), kind, Path(path).name, owned=False))

    def add_exemplar_image(self, image: QImage, frame: int | None = None, *, name: str = "clipboard") -> None:
        """Pin an in-memory image (from the clipboard or a drop) at ``frame`` once it is checked."""
        frame = self._workspace.current_frame if frame is None else frame
        if image.isNull():
            self._refuse(ExemplarError("The clipboard holds no image; copy an image first."))
            return
        path = self._workspace.project.new_image_path(".png")
        image = image.copy()  # the caller's image may change; the copy is only read, on the loader's thread

        def save() -> None:
            if not image.save(str(path), "PNG"):  # type: ignore[call-overload]  # stubs want bytes, PySide6 str
                raise ExemplarError("The image cannot be saved into the project; check the disk space.")

        self._check_then_apply(PendingEdit("add", frame, path, "auto", name, owned=True), write=save)

    def pin_current_frame(self) -> None:
        """Pin the colorized frame under the playhead as a keyframe exemplar."""
        frame = self._workspace.current_frame
        key = self._workspace.key_at(frame)
        cache = self._workspace.cache
        not_yet = ExemplarError(f"Frame {frame} is not colorized yet; colorize it before pinning it.")
        if cache is None or not key or frame not in cache.frames(key):
            self._refuse(not_yet)
            return
        path = self._workspace.project.new_image_path(".png")

        def save() -> None:  # decodes the cached frame and writes it full size: on the loader's thread
            rgb = cache.get(key, frame)
            if rgb is None:
                raise not_yet
            path.write_bytes(encode_png(rgb))

        self._check_then_apply(PendingEdit("add", frame, path, "keyframe", f"frame {frame}", owned=True), write=save)

    def replace_exemplar(self, frame: int, path: str | Path) -> None:
        """Swap the image of the exemplar at ``frame`` for the file at ``path`` once it is checked."""
        self._check_then_apply(PendingEdit("replace", frame, Path(path), "", Path(path).name, owned=False))

    def add_reference_file(self, frame: int, path: str | Path) -> None:
        """Give the exemplar at ``frame`` the image file at ``path`` as a further reference once it is checked."""
        self._check_then_apply(PendingEdit("reference", frame, Path(path), "", Path(path).name, owned=False))

    def _check_then_apply(self, edit: PendingEdit, write: ImageWriter | None = None) -> None:
        """Checks ``edit`` here, then (on the loader's thread) writes its image with ``write`` and checks the image."""
        problem = self._problem(edit)
        if problem is not None:
            self._drop(edit)
            self._refuse(problem)
            return
        token = next(self._tokens)
        self._pending[token] = edit
        self.sig_check_image.emit(token, str(edit.image), write)

    def _problem(self, edit: PendingEdit) -> ExemplarError | None:
        """What makes ``edit`` impossible in the project as it is now (None when nothing does)."""
        occupied = self._workspace.project.exemplar_at(edit.frame) is not None
        count = self._workspace.project.frame_count
        if edit.op == "add" and (edit.frame < 0 or (count is not None and edit.frame >= count)):
            return ExemplarError(f"Frame {edit.frame} is outside the video; pick a frame from 0 to {(count or 1) - 1}.")
        if edit.op == "add" and occupied:
            return ExemplarError(
                f"Frame {edit.frame} already has an exemplar; replace its image or pick another frame."
            )
        if edit.op in ("replace", "reference") and not occupied:
            return ExemplarError(f"There is no exemplar at frame {edit.frame}.")
        if edit.op == "reference" and not takes_references(self._workspace.project.settings.engine):
            return ExemplarError(
                "Only the deepexemplar engine takes several references for one exemplar; choose it in Settings."
            )
        return None

    def on_image_checked(self, token: int, message: str) -> None:
        """The frame loader checked the image of a pending edit (``message``: why it is unusable, "" if it is fine)."""
        edit = self._pending.pop(token, None)
        if edit is None:
            return  # the project was replaced meanwhile
        problem = ExemplarError(message) if message else self._problem(edit)
        if problem is not None:
            self._drop(edit)
            self._refuse(problem)
            return
        texts = {"add": "Add Exemplar", "reference": "Add Reference Image", "replace": "Replace Exemplar Image"}
        try:
            with self._history.edit(f"{texts[edit.op]} at Frame {edit.frame}"):
                if edit.op == "add":
                    self._workspace.project.add_exemplar(
                        edit.frame, edit.image, kind=edit.kind, name=edit.name, copy=not edit.owned
                    )
                elif edit.op == "reference":
                    self._workspace.project.add_reference(edit.frame, edit.image, copy=not edit.owned)
                else:
                    self._workspace.project.replace_image(edit.frame, edit.image, name=edit.name, copy=not edit.owned)
        except ColorMNetError as exc:
            self._drop(edit)
            self._refuse(exc)
            return
        except OSError as exc:
            self._refuse(ExemplarError(f"Cannot copy {edit.image.name} into the project ({exc.strerror or exc})."))
            return
        self.sig_exemplars_changed.emit()
        self.sig_edit_finished.emit(True)

    def _refuse(self, problem: ColorMNetError) -> None:
        self._report(problem)
        self.sig_edit_finished.emit(False)

    @staticmethod
    def _drop(edit: PendingEdit) -> None:
        if edit.owned:
            edit.image.unlink(missing_ok=True)

    # -- edits applied at once ---------------------------------------------------------------------------------

    def move_exemplar(self, frame: int, new_frame: int, kind: str | None = None) -> bool:
        """Move the exemplar at ``frame`` to ``new_frame``, used as ``kind`` there (None: as before); one edit, the
        session told once; False when refused."""
        try:
            with self._history.edit(move_text(frame, new_frame)):
                self._workspace.project.move_exemplar(frame, new_frame)
                if kind is not None:
                    self._workspace.project.set_kind(new_frame, kind)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self.sig_exemplars_changed.emit()
        return True

    def remove_exemplar(self, frame: int) -> bool:
        """Remove the exemplar at ``frame``; False when there is none."""
        try:
            with self._history.edit(f"Remove Exemplar at Frame {frame}"):
                self._workspace.project.remove_exemplar(frame)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self.sig_exemplars_changed.emit()
        return True

    def set_exemplar_kind(self, frame: int, kind: str) -> bool:
        """Use the exemplar at ``frame`` as ``kind`` (auto, keyframe or reference); False when refused."""
        entry = self._workspace.project.exemplar_at(frame)
        if entry is not None and entry.kind == kind:
            return True
        try:
            with self._history.edit(f"Use Exemplar at Frame {frame} as {kind.capitalize()}"):
                self._workspace.project.set_kind(frame, kind)
        except ColorMNetError as exc:
            self._report(exc)
            return False
        self.sig_exemplars_changed.emit()
        return True

    def remove_reference(self, frame: int, index: int) -> bool:
        """Remove the further reference ``index`` of the exemplar at ``frame``; False when there is none."""
        return self._edit_references(frame, index, None, f"Remove Reference Image at Frame {frame}")

    def move_reference(self, frame: int, index: int, new_index: int) -> bool:
        """Put the further reference ``index`` of the exemplar at ``frame`` at ``new_index`` (the order in which the
        engine matches them); False when either is out of range."""
        return self._edit_references(frame, index, new_index, f"Reorder Reference Images at Frame {frame}")

    def _edit_references(self, frame: int, index: int, new_index: int | None, text: str) -> bool:
        project = self._workspace.project
        entry = project.exemplar_at(frame)
        count = len(entry.references) if entry is not None else 0
        if entry is None or not 0 <= index < count or (new_index is not None and not 0 <= new_index < count):
            self._report(ExemplarError(f"The exemplar at frame {frame} has no such reference image."))
            return False
        with self._history.edit(text):
            image = entry.references.pop(index)
            if new_index is not None:
                entry.references.insert(new_index, image)
            project.dirty = True
        self.sig_exemplars_changed.emit()
        return True

    # -- in/out points, settings ----------------------------------------------------------------------

    def set_in_point(self, frame: int | None = None) -> None:
        """Set the in point (the playhead by default)."""
        frame = self._workspace.current_frame if frame is None else frame
        project = self._workspace.project
        out = project.out_point if project.out_point is None or project.out_point >= frame else None
        with self._history.edit("Set In Point"):
            project.set_in_out(frame, out)
        self.sig_project_changed.emit()

    def set_out_point(self, frame: int | None = None) -> None:
        """Set the out point (the playhead by default)."""
        frame = self._workspace.current_frame if frame is None else frame
        project = self._workspace.project
        start = project.in_point if project.in_point is None or project.in_point <= frame else None
        with self._history.edit("Set Out Point"):
            project.set_in_out(start, frame)
        self.sig_project_changed.emit()

    def clear_in_out(self) -> None:
        """Clear the in and out points."""
        with self._history.edit("Clear In/Out"):
            self._workspace.project.set_in_out(None, None)
        self.sig_project_changed.emit()

    def set_engine_settings(self, settings: EngineSettings) -> None:
        """Change how frames are colorized; the session is reopened with the new settings."""
        self._settings.set_engine_settings(settings)
        if settings == self._workspace.project.settings:
            return
        self._workspace.project.settings = settings
        self._history.mark_changed_outside()
        self.sig_settings_changed.emit()
