"""Image sequences written into a folder that already exists: only this program's numbered frames change.

An export into an existing folder is staged in a hidden folder inside it (same drive, so every move is a rename,
and nothing appears beside it, which matters for ``-o .``). When the export is complete, the earlier numbered
frames of the same format (``00000.png``, ...) are moved aside, the new frames moved in, and the earlier ones
deleted; any failure on the way moves everything back. Signals are held off during the swap, so Ctrl+C or SIGTERM
lands before or after it. Every other file and subfolder of the folder stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from colormnet.errors import OutputError
from colormnet.fileio import fsync_path, owned_prefix, quoted

__all__ = ["STAGING_PREFIX", "frame_name", "merge_frames", "numbered_frames", "refuse_unusual_frames"]

STAGING_PREFIX = ".colormnet-partial-"
ASIDE_PREFIX = ".colormnet-replaced-"
_NUMBERED = re.compile(r"^\d{5,}$")


def frame_name(index: int, suffix: str) -> str:
    """The file name of frame ``index`` in an image sequence (``00042.png``)."""
    return f"{index:05d}{suffix}"


def numbered_frames(folder: Path, suffix: str) -> list[Path]:
    """The entries of ``folder`` named like the frames this program writes with ``suffix``."""
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return []
    return sorted(e for e in entries if e.suffix == suffix and _NUMBERED.match(e.stem) and e.name == e.stem + suffix)


def refuse_unusual_frames(folder: Path, suffix: str) -> None:
    """Refuses a folder where a frame's name is taken by something that is not a file (a subfolder, a device)."""
    for entry in numbered_frames(folder, suffix):
        if not entry.is_symlink() and not entry.is_file():
            raise OutputError(f"{quoted(entry)} is not an image file, so the frames cannot be written into "
                              f"{quoted(folder)}; move it or choose another folder.")


def make_staging(folder: Path) -> Path:
    """A hidden staging folder inside ``folder``, owned by this process (see :func:`~colormnet.fileio.owned_prefix`)."""
    return Path(tempfile.mkdtemp(prefix=owned_prefix(STAGING_PREFIX), dir=folder))


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Holds SIGINT and SIGTERM back (delivered when the block ends) where the platform allows it."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _move_all(names: Iterable[str], source: Path, target: Path, done: list[str]) -> None:
    for name in names:
        os.replace(source / name, target / name)
        done.append(name)


def merge_frames(staging: Path, folder: Path, suffix: str, count: int) -> None:
    """Moves frames ``0..count-1`` from ``staging`` into ``folder`` in place of its earlier numbered frames.

    The earlier numbered frames beyond ``count`` are deleted too, and ``staging`` once empty; nothing else in
    ``folder`` is touched. On any failure the folder is put back as it was and the error raised; ``staging`` keeps
    the new frames. A signal held off during the swap lands once all of this is done.
    """
    refuse_unusual_frames(folder, suffix)
    new = [frame_name(i, suffix) for i in range(count)]
    old = [entry.name for entry in numbered_frames(folder, suffix)]
    aside = Path(tempfile.mkdtemp(prefix=owned_prefix(ASIDE_PREFIX), dir=folder))
    moved_old: list[str] = []
    moved_new: list[str] = []
    with _signals_held():
        try:
            _move_all(old, folder, aside, moved_old)
            _move_all(new, staging, folder, moved_new)
        except BaseException:
            _move_all(moved_new, folder, staging, [])
            _move_all(moved_old, aside, folder, [])
            shutil.rmtree(aside, ignore_errors=True)
            raise
        fsync_path(folder)
        shutil.rmtree(aside, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()
