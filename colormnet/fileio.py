"""Crash-safe file writing: a temporary file beside the target, synced to disk, then renamed into place.

A process killed at any moment leaves either the old file or the new one under the target name, never a mixture;
at worst a ``.name.tmp-XXXX`` file is left beside it. Temporary names carry the process id and a tag of the host
(:func:`owned_prefix`), so a later run on the same host can tell which leftovers belong to dead processes and clear
them (:func:`remove_stale`, :func:`clear_leftovers`) without touching those of live processes or of other hosts
sharing the folder. :func:`is_disk_full` and :func:`describe_write_error` turn a failed write into words.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = [
    "clear_leftovers",
    "current_umask",
    "describe_os_error",
    "describe_write_error",
    "fsync_path",
    "is_disk_full",
    "owned_prefix",
    "owned_temp_file",
    "quoted",
    "remove_path",
    "remove_stale",
    "write_bytes_atomic",
]


#: The temporary names this program creates (``.NAME.partial-``, the spool, staging folders inside an output folder),
#: with the owner's process id and host tag as :func:`owned_prefix` writes them.
_LEFTOVER = re.compile(r"^\.(?:.+\.partial-|colormnet-spool-|colormnet-partial-)(\d+)@([0-9a-f]{8})-")

_TEMPORARY = re.compile(r"^\..+\.(?:tmp-|partial)")  # a file written under a temporary name, then renamed
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")  # numpy's words for a write the disk cut short


@functools.cache
def host_tag() -> str:
    """Tag of this host in temporary names: a folder shared by hosts holds process ids that mean nothing here."""
    import hashlib  # here, not at the top: the command line imports this module before it can handle Ctrl+C
    import socket

    return hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


def quoted(path: str | os.PathLike[str]) -> str:
    """A path for a one-line message: quoted, with control characters escaped (``'.'`` for the current folder)."""
    return repr(os.fspath(path))


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
            tmp.chmod(0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.absolute().parent)


def current_umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back): the permissions an ordinary new
    file would get, for temporary files that ``mkstemp`` and ``mkdtemp`` make private."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_path(path: Path) -> None:
    """Deletes a temporary file or folder, ignoring one that is already gone."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def owned_prefix(prefix: str) -> str:
    """``prefix`` followed by this process's id and host tag, for names that :func:`remove_stale` can clean up."""
    return f"{prefix}{os.getpid()}@{host_tag()}-"


def owned_temp_file(path: Path) -> Path:
    """A new empty file ``.NAME.partial-PID@HOST-XXXX.SUFFIX`` beside ``path``, to be renamed onto it when complete.

    It has the permissions of an ordinary new file; :func:`clear_leftovers` clears it if this process dies first.
    """
    path = Path(path)
    descriptor, name = tempfile.mkstemp(prefix=owned_prefix(f".{path.name}.partial-"), suffix=path.suffix,
                                        dir=path.absolute().parent)
    try:
        os.fchmod(descriptor, 0o666 & ~current_umask())
    finally:
        os.close(descriptor)
    return Path(name)


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
    folder does. Entries of live processes, of other hosts, and names without a process id are left alone.

    Returns:
        The paths removed.
    """

    def owner(name: str) -> tuple[str, str] | None:
        if not name.startswith(prefix):
            return None
        pid_text, _, host = name[len(prefix):].split("-", 1)[0].partition("@")
        return pid_text, host

    return _remove_dead(folder, owner)


def clear_leftovers(folder: Path) -> list[Path]:
    """Deletes every temporary entry this host's dead processes left in ``folder`` (whatever output they were for).

    Only names in the form :func:`owned_prefix` writes, with this host's tag, are considered; returns those removed.
    """

    def owner(name: str) -> tuple[str, str] | None:
        match = _LEFTOVER.match(name)
        return (match.group(1), match.group(2)) if match else None

    return _remove_dead(folder, owner)


def _remove_dead(folder: Path, owner: Callable[[str], tuple[str, str] | None]) -> list[Path]:
    """Removes the entries of ``folder`` whose ``owner(name)`` (process id, host tag or "") is a dead local process."""
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = owner(entry.name)
        if found is None or found[1] not in ("", host_tag()):
            continue
        if _is_dead(found[0]) and _remove_entry(entry):
            removed.append(entry)
    return removed


def _is_dead(pid_text: str) -> bool:
    return pid_text.isdigit() and int(pid_text) != os.getpid() and not _alive(int(pid_text))


def _remove_entry(entry: Path) -> bool:
    try:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    except OSError:
        return False
    logger.info("Removed %s, left behind by an interrupted run", entry)
    return True


def is_disk_full(exc: BaseException) -> bool:
    """Whether a failed write means the disk (or the user's quota) is full, including numpy's short-write error."""
    code = getattr(exc, "errno", None)
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return True
    return isinstance(exc, OSError) and code is None and bool(_SHORT_WRITE.search(str(exc)))


def describe_write_error(exc: BaseException, folder: str | os.PathLike[str]) -> str:
    """What went wrong while writing into ``folder``, in words a user can act on (no trailing full stop)."""
    code = getattr(exc, "errno", None)
    if is_disk_full(exc):
        return f"the disk holding {quoted(folder)} is full; free some space there or choose another drive"
    if code == errno.EFBIG:
        return "the file grew past the largest size this drive allows; choose another drive or codec"
    if code in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"{quoted(folder)} is no longer writable; check the drive and its permissions"
    if code == errno.EIO:
        return f"the drive holding {quoted(folder)} reported an input/output error; check the drive"
    return str(getattr(exc, "strerror", None) or exc)


def describe_os_error(exc: OSError) -> str:
    """An :class:`OSError` of any origin as one line: the full disk and its folder, or the reason and the file."""
    name = exc.filename if isinstance(exc.filename, str) else None
    if is_disk_full(exc):
        return describe_write_error(exc, Path(name).absolute().parent if name else Path.cwd())
    reason = exc.strerror or str(exc)
    if name and _TEMPORARY.match(Path(name).name):  # the user named the file it stands for, not this name
        folder = Path(name).absolute().parent
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return f"The folder {quoted(folder)} cannot be written ({reason}); choose another output folder."
        return f"Writing into {quoted(folder)} failed ({reason})."
    return f"{reason}: {quoted(name)}" if name else reason
