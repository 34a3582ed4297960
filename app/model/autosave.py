"""Autosave snapshots and crash recovery.

While a project has unsaved changes, a snapshot of it is written to the autosave folder, named by the project's id,
shortly after each edit (:class:`SnapshotWriter` writes on a thread of its own; ``app.autosave.AutosaveWriter``
debounces the edits); a clean exit deletes it. A snapshot still there at the next start means the program did not exit
cleanly, and the user is offered to restore it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.model.project import Project, ProjectError
from app.model.project_file import check_project_id, read_project_data, write_project_json

logger = logging.getLogger(__name__)

def autosave_path(folder: Path, project: Project) -> Path:
    """Where the snapshot of ``project`` goes.

    Raises:
        ProjectError: The project's id is not one the app writes (it names a file in ``folder``).
    """
    return folder / f"{check_project_id(project.project_id)}.cmnproj"


def _snapshot(path: Path) -> dict[str, Any] | None:
    """The data of the snapshot at ``path``, or None when it cannot be read."""
    try:
        return read_project_data(path)
    except ProjectError as exc:
        logger.warning("ignoring the autosave %s: %s", path, exc)
        return None


def snapshot_data(project: Project) -> dict[str, Any]:
    """What a snapshot of ``project`` holds: absolute paths, and the process that wrote it."""
    data = project.to_dict(portable=False)
    data["pid"] = os.getpid()
    return data


def write_autosave(folder: Path, project: Project) -> Path:
    """Write a snapshot of ``project`` and return its path."""
    path = autosave_path(folder, project)
    write_project_json(path, snapshot_data(project))
    return path


def discard_autosave(folder: Path, project: Project) -> None:
    """Delete the snapshot of ``project`` (after a save or a clean exit)."""
    autosave_path(folder, project).unlink(missing_ok=True)


def _owner_alive(pid: int) -> bool:
    """Whether another running process wrote a snapshot (a second window, not a crash)."""
    if pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def find_orphans(folder: Path) -> list[Path]:
    """Snapshots left by a run that did not exit cleanly, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.cmnproj"):
        pid = (_snapshot(path) or {}).get("pid", 0)
        if not _owner_alive(pid if isinstance(pid, int) and 0 <= pid < 2**31 else 0):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def restore(path: Path) -> Project:
    """Rebuild the project of a snapshot; it is marked as having unsaved changes.

    The snapshot is the app's own file, so unlike a project a user opens, the files folder and project path it
    names are used (a scratch folder, or the folder of the project it was saved as).

    Raises:
        ProjectError: The snapshot is damaged.
    """
    data = read_project_data(path)
    files_dir, project_path = data.get("files_dir") or str(path.parent), data.get("project_path")
    if not isinstance(files_dir, str) or not isinstance(project_path, str | None) or "\0" in files_dir:
        raise ProjectError("The autosaved project is damaged and cannot be restored.")
    project = Project.from_dict(data, files_dir=Path(files_dir), base=None)
    project.path = Path(project_path) if project_path else None
    project.dirty = True
    return project


def referenced_folders(folder: Path) -> frozenset[Path]:
    """The scratch folders that autosave snapshots in ``folder`` still need."""
    found = set()
    for path in folder.glob("*.cmnproj") if folder.is_dir() else []:
        files_dir = (_snapshot(path) or {}).get("files_dir")
        if isinstance(files_dir, str) and files_dir and "\0" not in files_dir:
            found.add(Path(files_dir).resolve())
    return frozenset(found)


def _write_snapshot(path: Path, data: dict[str, Any]) -> None:
    try:
        write_project_json(path, data)
    except OSError as exc:
        logger.warning("autosave failed: %s", exc)


def _remove_snapshot(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        logger.warning("cannot delete the autosave %s: %s", path, exc)


class SnapshotWriter:
    """Writes and deletes the recovery copies of projects, in order, on one background thread.

    The project's data is taken on the caller's thread (a small dictionary); encoding and the crash-safe write run on
    the background thread, which also deletes snapshots, so a write and a later delete happen in that order. The
    thread starts with the first job and ends in :meth:`close`.

    Args:
        folder: The autosave folder.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._executor: ThreadPoolExecutor | None = None  # started by the first job
        self._closed = False
        self._last: Future[None] | None = None

    def write(self, project: Project) -> None:
        """Write the snapshot of ``project`` (in the background) when it has unsaved changes and a video."""
        if not project.dirty or project.video is None:
            return
        try:
            path = autosave_path(self._folder, project)
        except ProjectError as exc:
            logger.warning("no autosave: %s", exc)
            return
        self._submit(_write_snapshot, path, snapshot_data(project))

    def discard(self, project: Project) -> None:
        """Delete the snapshot of ``project`` (saved, or closed cleanly), after any write still under way."""
        try:
            path = autosave_path(self._folder, project)
        except ProjectError:
            return
        self._submit(_remove_snapshot, path)

    def wait(self) -> None:
        """Block until the writes and deletes asked for so far are done."""
        if self._last is not None:
            self._last.result()

    def close(self) -> None:
        """Finish what was asked for and stop the background thread (later calls do nothing)."""
        self._closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _submit(self, job: Callable[..., None], *args: Any) -> None:
        if self._closed:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")
        self._last = self._executor.submit(job, *args)
