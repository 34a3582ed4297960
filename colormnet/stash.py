"""Chroma of one pass kept on disk until a later pass fuses it (bounded memory whatever a segment's length)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np


class Stash:
    """``2 x h x w`` float32 planes by frame index, in a private temporary folder removed on close.

    Use as a context manager. A plane taken at another size than it was put (the processing size dropped after the
    GPU ran out of memory in between) is resized to the size asked for.
    """

    def __init__(self) -> None:
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._frames: set[int] = set()

    def __enter__(self) -> Stash:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Deletes everything stashed."""
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
        self._frames.clear()

    def _path(self, index: int) -> Path:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="colormnet-stash-")
        return Path(self._dir.name) / f"{index}.npy"

    def put(self, index: int, planes: np.ndarray) -> None:
        """Keeps ``planes`` for frame ``index`` (replacing what was kept for it)."""
        np.save(self._path(index), np.ascontiguousarray(planes, dtype=np.float32), allow_pickle=False)
        self._frames.add(index)

    def __contains__(self, index: object) -> bool:
        return index in self._frames

    def take(self, index: int, shape: tuple[int, ...]) -> np.ndarray:
        """The planes kept for ``index``, at ``shape`` (``2 x h x w``); removes them.

        Raises:
            KeyError: nothing is kept for ``index``.
        """
        if index not in self._frames:
            raise KeyError(index)
        path = self._path(index)
        planes = np.load(path, allow_pickle=False)
        path.unlink()
        self._frames.discard(index)
        if planes.shape[-2:] != tuple(shape[-2:]):
            h, w = shape[-2:]
            planes = np.stack([cv2.resize(p, (w, h), interpolation=cv2.INTER_LINEAR) for p in planes])
        return planes
