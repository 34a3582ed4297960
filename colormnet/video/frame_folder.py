"""Image sequences written into a folder that already exists: only this program's numbered frames change.

Frames are named by their frame number in the source (``00042.png``), so a range rendered again lands on the
frames it replaces. Every folder of frames holds a list of the frames this program wrote there (``MANIFEST``, a
hidden JSON file), because a name alone does not say who wrote a file: a restorer's own scans may be numbered the
same way.

An export into an existing folder is staged in a hidden folder inside it (same drive, so every move is a rename,
and nothing appears beside it, which matters for ``-o .``). When the export is complete, the files under the new
frames' names are moved aside, and so are, when the export covers the whole video, the frames the list names that
this export does not write (its own stale frames); then the new frames and the updated list are moved in and what
was moved aside is deleted. Any failure on the way moves everything back. Signals are held off during the swap, so
Ctrl+C or SIGTERM lands before or after it. Every other file and subfolder stays as it was, numbered or not.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from colormnet.errors import OutputError
from colormnet.fileio import fsync_path, owned_prefix, quoted, write_bytes_atomic

__all__ = [
    "MANIFEST", "STAGING_PREFIX", "finish_frames", "frame_name", "merge_frames", "numbered_frames", "own_frames",
    "refuse_unusual_frames", "write_manifest",
]

STAGING_PREFIX = ".colormnet-partial-"
ASIDE_PREFIX = ".colormnet-replaced-"
MANIFEST = ".colormnet-frames.json"
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
    return sorted(e for e in entries if e.suffix == suffix and _is_frame_name(e.name))


def _is_frame_name(name: str) -> bool:
    """Whether ``name`` is a file name as :func:`frame_name` writes one (digits, a suffix, no folder part)."""
    path = Path(name)
    return path.name == name and bool(path.suffix) and bool(_NUMBERED.match(path.stem))


def _stamp(path: Path) -> list[int] | None:
    """Size and modification time of a plain file (``None`` for anything else): a file replaced since it was
    written no longer matches, even under the same name."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns] if stat.S_ISREG(info.st_mode) else None


def own_frames(folder: Path) -> dict[str, list[int]]:
    """The frames this program wrote in ``folder`` by its list (``MANIFEST``) that are still there unchanged (same
    size and modification time), with their stamps; empty where the list is missing or unreadable, so that nothing
    unknown is ever taken for ours."""
    folder = Path(folder)
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8")).get("frames")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(listed, dict):
        return {}
    return {name: stamp for name, stamp in listed.items()
            if isinstance(name, str) and _is_frame_name(name) and _stamp(folder / name) == stamp}


def write_manifest(folder: Path, names: Iterable[str], earlier: dict[str, list[int]] | None = None) -> None:
    """Writes the list of the frames this program wrote in ``folder`` (``MANIFEST``): ``names``, stamped as they
    are now, and the ``earlier`` entries (from :func:`own_frames`) kept as they were."""
    entries = dict(earlier or {})
    for name in names:
        stamp = _stamp(Path(folder) / name)
        if stamp is not None:
            entries[name] = stamp
    data = json.dumps({"frames": dict(sorted(entries.items()))}, indent=0).encode()
    write_bytes_atomic(Path(folder) / MANIFEST, data)


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


def merge_frames(staging: Path, folder: Path, names: list[str], *, whole: bool) -> None:
    """Moves the frames ``names`` from ``staging`` into ``folder``, in place of the files of the same names.

    With ``whole`` (the export covers the whole video) the frames this program wrote there before (``MANIFEST``)
    that ``names`` does not hold are deleted too; a range keeps them (it patches an earlier render). The list is
    updated, ``staging`` deleted once empty; nothing else in ``folder`` is touched. On any failure the folder is put
    back as it was and the error raised; ``staging`` keeps the new frames. A signal held off during the swap lands
    once all of this is done.
    """
    suffixes = {Path(name).suffix for name in names}
    for suffix in suffixes:
        refuse_unusual_frames(folder, suffix)
    ours = own_frames(folder)
    writing = set(names)  # a film has up to hundreds of thousands of frames: membership by hash
    stale = sorted(name for name in ours if Path(name).suffix in suffixes and name not in writing) if whole else []
    dropped = writing | set(stale)
    kept = {name: stamp for name, stamp in ours.items() if name not in dropped}
    write_manifest(staging, names, kept)  # renaming keeps the new frames' stamps
    incoming = [*names, MANIFEST]
    old = [name for name in [*incoming, *stale] if (folder / name).is_file() or (folder / name).is_symlink()]
    aside = Path(tempfile.mkdtemp(prefix=owned_prefix(ASIDE_PREFIX), dir=folder))
    moved_old: list[str] = []
    moved_new: list[str] = []
    with _signals_held():
        try:
            _move_all(old, folder, aside, moved_old)
            _move_all(incoming, staging, folder, moved_new)
        except BaseException:
            _move_all(moved_new, folder, staging, [])
            _move_all(moved_old, aside, folder, [])
            shutil.rmtree(aside, ignore_errors=True)
            raise
        fsync_path(folder)
        shutil.rmtree(aside, ignore_errors=True)
        with contextlib.suppress(OSError):
            staging.rmdir()


def finish_frames(staging: Path, target: Path, names: list[str], *, whole: bool, existing: bool) -> bool:
    """Completes the image sequence ``names`` staged in ``staging`` for ``target``: merged into ``target`` when that
    is an ``existing`` folder it was staged in (True: nothing is left to do), else given its list of frames, ready to
    be renamed ``target`` (False). ``whole``: the sequence covers the whole video (see :func:`merge_frames`)."""
    if existing:
        merge_frames(staging, target, names, whole=whole)
        return True
    write_manifest(staging, names)
    return False
