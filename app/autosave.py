"""Autosave for the window: a snapshot of the open project shortly after the last of a burst of edits.

What a snapshot holds, where it goes and how it is written off the GUI thread is Qt-free (:mod:`app.model.autosave`);
this module only waits for the edits to settle.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

from app.model.autosave import SnapshotWriter
from app.model.project import Project

AUTOSAVE_DELAY_MS = 2_000  # after the last edit: a burst of edits is written once


class AutosaveWriter(QObject):
    """Writes the recovery copy of the open project once no edit has come for a while.

    Args:
        folder: The autosave folder.
        project: Returns the open project.
        delay_ms: Quiet time after the last edit before the snapshot is written.
        parent: Parent object.
    """

    def __init__(
        self,
        folder: Path,
        project: Callable[[], Project],
        delay_ms: int = AUTOSAVE_DELAY_MS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._project = project
        self._writer = SnapshotWriter(folder)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.write_now)

    def schedule(self) -> None:
        """The project changed: write its snapshot once no edit has come for the delay."""
        self._timer.start()

    @property
    def pending(self) -> bool:
        """Whether a snapshot waits for its delay to pass."""
        return self._timer.isActive()

    def write_now(self) -> None:
        """Write the snapshot now (on the background thread) when the project has unsaved changes."""
        self._timer.stop()
        self._writer.write(self._project())

    def discard(self, project: Project) -> None:
        """Delete the snapshot of ``project`` (saved, or closed cleanly), after any write still under way."""
        self._timer.stop()
        self._writer.discard(project)

    def wait(self) -> None:
        """Block until the writes and deletes asked for so far are done."""
        self._writer.wait()

    def close(self) -> None:
        """Finish what was asked for and stop the background thread (later calls do nothing)."""
        self._timer.stop()
        self._writer.close()
