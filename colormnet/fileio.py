"""Crash-safe file writing: a temporary file beside the target, synced to disk, then renamed into place.

A process killed at any moment leaves either the old file or the new one under the target name, never a mixture;
at worst a ``.name.tmp-XXXX`` file is left beside it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["fsync_path", "owned_prefix", "remove_stale", "write_bytes_atomic"]


def fsync_path(path: Path) -> None:
    """Flushes a file, or a folder's entries, to disk (best effort where the platform refuses)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        descriptor = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Replaces ``path`` with ``data`` so that a crash leaves either the old or the new content.

    Raises:
        OSError: The folder cannot be written (nothing is left behind).
    """
    path = Path(path)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    tmp = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            with contextlib.suppress(OSError):
                tmp.chmod(path.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.absolute().parent)


def owned_prefix(prefix: str) -> str:
    """``prefix`` followed by this process's id, for temporary names that :func:`remove_stale` can clean up."""
    return f"{prefix}{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process: leave its files alone
    return True


def remove_stale(folder: Path, prefix: str) -> list[Path]:
    """Deletes temporary files and folders named :func:`owned_prefix` ``(prefix)...`` whose process has died.

    A process killed outright (``kill -9``, power cut) cannot remove its temporary files; the next run in the same
    folder does. Entries of live processes, and names without a process id, are left alone.

    Returns:
        The paths removed.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        logger.info("Removed %s, left behind by an interrupted run", entry)
        removed.append(entry)
    return removed
