"""Autosave snapshots and crash recovery.

While a project has unsaved changes, a snapshot of it is written every minute to the autosave folder, named by the
project's id; a clean exit deletes it. A snapshot still there at the next start means the program did not exit
cleanly, and the user is offered to restore it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from app.project import Project, ProjectError

logger = logging.getLogger(__name__)

AUTOSAVE_INTERVAL_MS = 60_000


def autosave_path(folder: Path, project: Project) -> Path:
    """Where the snapshot of ``project`` goes."""
    return folder / f"{project.project_id}.cmnproj"


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
        try:
            pid = int(json.loads(path.read_text(encoding="utf-8")).get("pid", 0))
        except (OSError, ValueError, AttributeError):
            pid = 0
        if not _owner_alive(pid):
            found.append(path)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def restore(path: Path) -> Project:
    """Rebuild the project of a snapshot; it is marked as having unsaved changes.

    Raises:
        ProjectError: The snapshot is damaged.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError("The autosaved project is damaged and cannot be restored.") from exc
    project = Project.from_dict(data, files_dir=path.parent, base=None)
    project.dirty = True
    return project


def referenced_folders(folder: Path) -> frozenset[Path]:
    """The scratch folders that autosave snapshots in ``folder`` still need."""
    found = set()
    for path in folder.glob("*.cmnproj") if folder.is_dir() else []:
        try:
            files_dir = json.loads(path.read_text(encoding="utf-8")).get("files_dir")
        except (OSError, ValueError, AttributeError):
            continue
        if files_dir:
            found.add(Path(files_dir).resolve())
    return frozenset(found)
