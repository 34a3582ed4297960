"""Puts frames produced out of order (a backward segment comes out descending) back in frame order.

Frames that arrive before their turn are kept on disk (``.npy`` in a temporary folder), never in memory, so a long
backward segment costs disk space, not RAM; frames that arrive in turn pass straight through. A full disk is
reported as such (:class:`~colormnet.errors.OutputError` naming the folder), and the spill folder is always removed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import TypeVar

import numpy as np

from colormnet.errors import OutputError
from colormnet.fileio import describe_write_error, is_disk_full, owned_prefix, remove_stale

T = TypeVar("T")

SPOOL_PREFIX = ".colormnet-spool-"


def in_frame_order(
    results: Iterable[T],
    order: Iterable[int],
    *,
    index: Callable[[T], int],
    convert: Callable[[T], np.ndarray],
    workdir: str | Path | None = None,
) -> Generator[tuple[int, np.ndarray], None, None]:
    """Yields ``(frame, convert(result))`` in the order of ``order``.

    Args:
        results: items in any order, each frame once.
        order: the frame indices to yield, in the wanted order.
        index: the frame index of an item.
        convert: what to keep of an item (e.g. its 8-bit RGB); this is what is spilled to disk.
        workdir: where to create the temporary spill folder (default: the system's temporary folder).
    """
    pending = iter(order)
    if workdir is not None:
        remove_stale(Path(workdir), SPOOL_PREFIX)
    spill = Path(tempfile.mkdtemp(prefix=owned_prefix(SPOOL_PREFIX), dir=workdir))
    try:
        next_frame = next(pending, None)
        stored: set[int] = set()
        for item in results:
            frame = index(item)
            if frame != next_frame:
                _spill(spill / f"{frame}.npy", convert(item))
                stored.add(frame)
                continue
            yield frame, convert(item)
            next_frame = next(pending, None)
            while next_frame is not None and next_frame in stored:
                path = spill / f"{next_frame}.npy"
                array = np.load(path, allow_pickle=False)
                path.unlink()
                stored.discard(next_frame)
                yield next_frame, array
                next_frame = next(pending, None)
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _spill(path: Path, array: np.ndarray) -> None:
    """Saves one frame to the spill folder; a full disk becomes an :class:`OutputError` that names the folder."""
    try:
        np.save(path, array, allow_pickle=False)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        folder = path.parent.parent
        raise OutputError(f"Putting frames in order failed: {describe_write_error(exc, folder)}. Nothing was written "
                          "under the output name.") from exc
