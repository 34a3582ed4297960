"""Deleting stale frame caches, scratch projects (possibly gigabytes) and thumbnail sets in the background, after
the window shows; and those of a project replaced without being saved, once it is.

Three steps, so that no folder the open project uses is ever deleted and the GUI thread never waits on the disk:

1. on a pool thread, find the folders untouched for long (less those an autosave refers to);
2. on the GUI thread, drop those the open project, or one being opened, uses, and rename the others to a
   ``.stale-`` name in the same folder (a rename is instant; nothing opens a folder under that name);
3. on a pool thread, delete the renamed folders file by file, and the thumbnail sets untouched for as long (reading
   one touches it; one deleted while its film is open is only made again).

At exit the deletion stops at the next file rather than keep the program running: a folder renamed but not wholly
deleted goes at the next start, whatever its age.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.model import autosave
from app.model.paths import AppPaths, stale_files, stale_folders

logger = logging.getLogger(__name__)

STALE_PREFIX = ".stale-"


def remove_tree(folder: Path, stop: threading.Event) -> bool:
    """Delete ``folder`` and everything in it, deepest entries first, unless ``stop`` is set meanwhile.

    Symbolic links are removed, never followed. An entry that cannot be deleted stays (and so does the folder).

    Returns:
        Whether the folder is gone.
    """
    if folder.is_symlink():
        folder.unlink(missing_ok=True)
        return True
    for parent, folders, files in os.walk(folder, topdown=False):  # links to folders are listed, not entered
        for name in files + folders:
            if stop.is_set():
                return False
            path = os.path.join(parent, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    os.rmdir(path)
                else:
                    os.unlink(path)
            except OSError:
                continue
    if stop.is_set():
        return False
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


class _Job(QRunnable):
    """Runs a function on a pool thread."""

    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        """Run the work; an error is logged (a clean-up must never stop the program)."""
        try:
            self._work()
        except Exception:
            logger.exception("deleting stale folders failed")


class StalePruner(QObject):
    """Deletes stale caches and scratch projects off the GUI thread (see the module's description).

    Args:
        paths: The app's folders.
        max_age_days: Age above which a cache or scratch project goes.
        in_use: Called on the GUI thread: the folders the open project and any project being opened use.
    """

    sig_finished = Signal(list)
    """The stale folders and files are deleted; carries their paths."""
    _sig_found = Signal(list, list)

    def __init__(self, paths: AppPaths, max_age_days: float, in_use: Callable[[], set[Path]]) -> None:
        super().__init__()
        self._paths = paths
        self._days = max_age_days
        self._in_use = in_use
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(1)
        self._stop = threading.Event()
        self._sig_found.connect(self._on_found)  # queued: the pool thread emits, this object lives on the GUI thread

    def start(self) -> None:
        """Look for stale folders in the background; returns at once."""
        self._pool.start(_Job(self._find))

    def wait(self, msecs: int = -1) -> bool:
        """Wait for the background work; whether it finished."""
        return self._pool.waitForDone(msecs)

    def stop(self) -> None:
        """Stop deleting at the next file (at exit, so that the program ends at once); what is left keeps its
        ``.stale-`` name and goes at the next start. Nothing is deleted afterwards."""
        self._stop.set()

    def _find(self) -> None:  # on a pool thread
        keep = frozenset(autosave.referenced_folders(self._paths.autosave))
        found = stale_folders(self._paths.cache, self._days)
        found += stale_folders(self._paths.scratch, self._days, keep=keep)
        found += [folder for root in (self._paths.cache, self._paths.scratch) if root.is_dir()
                  for folder in root.glob(f"{STALE_PREFIX}*")  # set aside, but the program ended before deleting
                  if folder not in found and folder.is_dir() and not folder.is_symlink()]
        self._sig_found.emit(found, stale_files(self._paths.thumbnails, self._days))

    def discard(self, folders: Sequence[Path]) -> None:
        """Delete ``folders`` (those of a project replaced without being saved) in the background, whatever their
        age; any the open project or one being opened uses stays."""
        moved = self._set_aside(folders)
        self._pool.start(_Job(lambda: self._delete(moved, [], "of a project never saved")))

    def _on_found(self, found: Sequence[Path], files: Sequence[Path]) -> None:  # on the GUI thread
        moved = self._set_aside(found)
        self._pool.start(_Job(lambda: self._delete(moved, files)))

    def _set_aside(self, folders: Sequence[Path]) -> list[tuple[Path, Path]]:  # on the GUI thread
        """Rename ``folders`` that nothing uses to a ``.stale-`` name; each with its new name."""
        in_use = {path.resolve() for path in self._in_use()}
        moved: list[tuple[Path, Path]] = []
        for folder in folders:
            if folder.resolve() in in_use:
                continue
            target = folder.with_name(f"{STALE_PREFIX}{uuid.uuid4().hex}")
            try:
                folder.rename(target)
            except OSError as exc:
                logger.warning("cannot set aside the folder %s: %s", folder, exc)
                continue
            moved.append((folder, target))
        return moved

    def _delete(self, moved: Sequence[tuple[Path, Path]], files: Sequence[Path],
                whose: str = "stale") -> None:  # on a pool thread
        removed = [folder for folder, target in moved if remove_tree(target, self._stop)]
        still_stale = set(stale_files(self._paths.thumbnails, self._days))  # not those read since they were found
        deleted = []
        for file in files:
            if self._stop.is_set():
                break
            if file not in still_stale:
                continue
            try:
                file.unlink()
            except OSError:
                continue
            deleted.append(file)
        if removed or deleted:
            logger.info("removed %d folders (%s) and %d stale thumbnail sets", len(removed), whose, len(deleted))
        if len(removed) < len(moved):
            why = "stopped at exit" if self._stop.is_set() else "could not delete everything in them"
            logger.info("%d folders set aside stay (%s); they go at the next start", len(moved) - len(removed), why)
        self.sig_finished.emit(removed + deleted)
