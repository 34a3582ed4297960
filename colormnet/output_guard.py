"""What an export may touch: never a file it reads (input, exemplars, references, weights), and only what fits.

Every command that writes checks its targets against the files it reads with :func:`refuse_protected` (resolved
paths and same-file identity, so a symlink, a hard link or a ``../`` spelling cannot sneak past), and a long export
compares its expected size with the free space of the output's folder first (:func:`check_free_space`), so a full
disk is said up front rather than hours in.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from colormnet.errors import OutputError
from colormnet.fileio import quoted

__all__ = [
    "BYTES_PER_PIXEL",
    "check_free_space",
    "check_output_folder",
    "estimate_export_bytes",
    "is_protected",
    "refuse_inside",
    "refuse_protected",
]

#: A cautious (low) size per pixel and frame of each export format, from exports of real footage: the check refuses
#: only what clearly cannot fit, so it errs on the small side (lossy codecs vary with the picture the most).
BYTES_PER_PIXEL: dict[str, float] = {
    "h264": 0.02,  # crf 17 of grainy film runs at 0.05 to 0.2
    "h265": 0.015,
    "prores": 0.3,  # 422 HQ is about 0.45 at any content
    "ffv1": 1.5,  # 16-bit RGB (6 bytes raw), lossless
    "png": 1.0,  # 8-bit RGB (3 bytes raw), deflate
    "png16": 2.5,
    "tiff16": 5.0,  # 16-bit RGB, PackBits barely compresses
}

_FIXED_OVERHEAD = 1 << 20  # headers, indexes, the folder's entries


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    return stat.st_dev, stat.st_ino


def _resolved(path: Path) -> Path | None:
    try:
        return Path(os.path.realpath(path))
    except (OSError, ValueError):
        return None


def is_protected(target: Path, protected: Iterable[Path]) -> Path | None:
    """The file of ``protected`` that writing or deleting ``target`` would harm, or None.

    ``target``'s folder is resolved but its own name is not followed: a write replaces that directory entry. A
    target that is the same file as a protected one (a hard or symbolic link to it) counts as harmful too.
    """
    target = Path(target)
    parent = _resolved(target.parent)
    entry = parent / target.name if parent is not None and target.name not in ("", ".", "..") else _resolved(target)
    identity = _identity(target)
    for path in protected:
        path = Path(path)
        if entry is not None and _resolved(path) == entry:
            return path
        if identity is not None and _identity(path) == identity:
            return path
    return None


def refuse_protected(targets: Iterable[Path], protected: Iterable[Path], *, instead: str = "name") -> None:
    """Raises :class:`OutputError` when writing or deleting any of ``targets`` would touch a ``protected`` file.

    ``instead`` is what the message asks the user to choose anew ("name", "folder").
    """
    protected = [Path(p) for p in protected]
    for target in targets:
        hit = is_protected(Path(target), protected)
        if hit is not None:
            raise OutputError(f"Writing {quoted(target)} would replace {quoted(hit)}, a file this command reads and "
                              f"never writes; choose another {instead}.")


def refuse_inside(output: Path, source: Path) -> None:
    """Refuses an output inside the folder of an image-sequence ``source``: it would add a frame to the sequence."""
    folder, parent = _resolved(Path(source)), _resolved(Path(output).parent)
    if folder is not None and parent is not None and folder.is_dir() and parent.is_relative_to(folder):
        raise OutputError(f"The output {quoted(output)} lies in the source sequence {quoted(folder)}, which this "
                          "command reads and never writes; choose another folder.")


def estimate_export_bytes(codec: str, width: int, height: int, frames: int) -> int:
    """A cautious estimate of the size of an export, in bytes (see :data:`BYTES_PER_PIXEL`)."""
    return int(BYTES_PER_PIXEL.get(codec, 0.0) * width * height * frames) + _FIXED_OVERHEAD


def _size(count: float) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


def check_free_space(folder: Path, codec: str, *, width: int, height: int, frames: int) -> None:
    """Refuses an export whose cautious size estimate exceeds the free space of ``folder``.

    An export that replaces an earlier one needs the full space as well: the earlier output stays until the new one
    is complete. A folder whose free space cannot be read is not checked.

    Raises:
        OutputError: With the estimate and the free space.
    """
    needed = estimate_export_bytes(codec, width, height, frames)
    try:
        free = shutil.disk_usage(folder).free
    except (OSError, ValueError):
        return
    if needed > free:
        raise OutputError(
            f"{frames} frames of {width}x{height} as {codec} need at least {_size(needed)}, but the disk holding "
            f"{quoted(folder)} has {_size(free)} free; free some space or choose another drive or codec."
        )


def check_output_folder(output: Path) -> None:
    """Refuses, in one sentence naming the folder, an output whose folder is missing or may not be written.

    Raises:
        OutputError: The folder does not exist or is not writable.
    """
    parent = Path(output).absolute().parent
    if parent.exists() and not parent.is_dir():
        raise OutputError(f"{quoted(parent)} is a file, not a folder; choose an output in a folder.")
    if not parent.is_dir():
        raise OutputError(f"The folder {parent} does not exist; create it or choose another output.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"The folder {parent} is not writable; choose another output folder.")
