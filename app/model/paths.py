"""Where the app keeps its files (scratch projects, frame caches, autosaves, the log), and their clean-up; where it
suggests the user's own files go."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

logger = logging.getLogger(__name__)

APP_NAME = "colormnet-studio"


class OutsideFolderError(ValueError):
    """A path that must lie inside one of the app's folders would lie elsewhere."""


@dataclass(frozen=True)
class AppPaths:
    """Folders of the app's own files."""

    scratch: Path  # exemplar copies of projects not saved yet
    cache: Path  # one frame-cache folder per project id
    autosave: Path  # autosave snapshots, removed on a clean exit
    log_file: Path
    thumbnails: Path  # the timeline's thumbnail sets, one file per film (see app.thumbnails)

    @classmethod
    def default(cls) -> AppPaths:
        """The user's platform folders."""
        cache = platformdirs.user_cache_path(APP_NAME, appauthor=False)
        data = platformdirs.user_data_path(APP_NAME, appauthor=False)
        logs = platformdirs.user_log_path(APP_NAME, appauthor=False)
        return cls(
            scratch=data / "untitled", cache=cache / "frames", autosave=data / "autosave", log_file=logs / "studio.log",
            thumbnails=cache / "thumbnails",
        )

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        """Everything inside one folder (tests, portable installs)."""
        return cls(
            scratch=root / "untitled", cache=root / "frames", autosave=root / "autosave", log_file=root / "studio.log",
            thumbnails=root / "thumbnails",
        )


def a_place_to_write(folder: Path) -> bool:
    """Whether ``folder`` exists, may be written and is not the program's own (the bundled demo clip lies there):
    whether a dialog may suggest a new file in it. Read-only archive media are not."""
    import colormnet

    program = Path(colormnet.__file__).resolve().parent
    try:
        resolved = folder.resolve()
    except OSError:
        return False
    return resolved.is_dir() and os.access(resolved, os.W_OK | os.X_OK) and not resolved.is_relative_to(program)


def user_folder(kind: str) -> Path:
    """The user's ``"videos"`` or ``"documents"`` folder; their home where the system names none."""
    found = platformdirs.user_videos_path() if kind == "videos" else platformdirs.user_documents_path()
    return found if found.is_dir() else Path.home()


def child_folder(parent: Path, name: str) -> Path:
    """The folder ``name`` directly inside ``parent``, resolved, for a name that may come from a file.

    Args:
        parent: One of the app's folders (the frame cache, the scratch or autosave folder).
        name: A plain folder name (such as a project id).

    Raises:
        OutsideFolderError: ``name`` is not a plain folder name (empty, ``.``, ``..``, absolute or with a separator),
            or the folder resolves outside ``parent`` (a symlink pointing elsewhere).
    """
    separators = {os.sep, os.altsep or os.sep, "/", "\\", "\0"}
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in separators):
        raise OutsideFolderError(f"{name!r} is not a plain folder name")
    home = parent.resolve()
    folder = (home / name).resolve()
    if folder.parent != home:
        raise OutsideFolderError(f"{name!r} leads outside {home}")
    return folder


def stale_folders(root: Path, max_age_days: float, *, keep: frozenset[Path] = frozenset()) -> list[Path]:
    """The sub-folders of ``root`` untouched for ``max_age_days``, less ``keep`` and symbolic links (not ours)."""
    if not root.is_dir():
        return []
    limit = time.time() - max_age_days * 86400
    stale = []
    for folder in root.iterdir():
        if folder.is_symlink() or not folder.is_dir() or folder.resolve() in keep:  # a link: not ours to follow
            continue
        try:
            newest = max([folder.stat().st_mtime, *(child.stat().st_mtime for child in folder.iterdir())])
        except OSError:
            continue
        if newest < limit:
            stale.append(folder)
    return stale


def stale_files(root: Path, max_age_days: float) -> list[Path]:
    """The plain files directly in ``root`` untouched for ``max_age_days`` (links and folders are not ours)."""
    if not root.is_dir():
        return []
    limit = time.time() - max_age_days * 86400
    stale = []
    for entry in root.iterdir():
        try:
            if not entry.is_symlink() and entry.is_file() and entry.stat().st_mtime < limit:
                stale.append(entry)
        except OSError:
            continue
    return stale


def prune_stale_folders(root: Path, max_age_days: float, *, keep: frozenset[Path] = frozenset()) -> list[Path]:
    """Delete the sub-folders of ``root`` untouched for ``max_age_days`` (caches and scratch projects of old runs).

    Args:
        root: The folder whose sub-folders are checked.
        max_age_days: Age above which a sub-folder goes.
        keep: Sub-folders that stay whatever their age (for example those an autosave refers to).

    Returns:
        The folders deleted.
    """
    removed = stale_folders(root, max_age_days, keep=keep)
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    if removed:
        logger.info("removed %d stale folders from %s", len(removed), root)
    return removed
