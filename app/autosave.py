"""Autosave snapshots and crash recovery.

While a project has unsaved changes, a snapshot of it is written every minute to the autosave folder, named by the
project's id; a clean exit deletes it. A snapshot still there at the next start means the program did not exit
cleanly, and the user is offered to restore it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from app.project import Project, ProjectError
from app.project_file import check_project_id, read_project_data

logger = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 60_000


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


def write_autosave(folder: Path, project: Project) -> Path:
    """Write a snapshot of ``project`` and return its path."""
    path = autosave_path(folder, project)
    project.write_autosave(path)
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
