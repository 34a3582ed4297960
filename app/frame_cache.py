"""Colorized frames kept on disk, so scrubbing back and exporting reuse them.

A frame is stored under the key of the segment that produced it (the session's ``segment_key``: a hash of the video,
the segment's exemplar, the settings and the weights), so a frame is valid exactly while its segment's key is
unchanged; editing one exemplar changes only the keys of the segments it governs. Files are lossless PNGs at the
source's bit depth, the total size is bounded and the least recently used frames go first.

The cache is shared by the GUI thread (lookups), the frame loader (reads) and the session worker (writes); every
method is thread-safe. What earlier runs left on disk is indexed on first use; the session worker calls
:meth:`FrameCache.scan` when it opens a session, so a large cache is never indexed on the GUI thread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from app.png_codec import decode_png, encode_png

logger = logging.getLogger(__name__)

DEFAULT_LIMIT_BYTES = 4 * 1024**3
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _folder_name(key: str) -> str:
    """Map a segment key to a folder name (keys that are not plain hashes are hashed)."""
    return key if _SAFE_KEY.match(key) else hashlib.sha1(key.encode()).hexdigest()


class FrameCache:
    """A size-bounded on-disk store of colorized frames.

    Args:
        root: Folder holding one sub-folder per segment key (created when missing).
        limit_bytes: Size above which the least recently used frames are deleted.
    """

    def __init__(self, root: str | Path, *, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self._root = Path(root)
        self._limit = int(limit_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int], int] = OrderedDict()  # (folder, index) -> bytes, LRU first
        self._by_folder: dict[str, set[int]] = {}
        self._total = 0
        self._scanned = False

    @property
    def root(self) -> Path:
        """The cache folder."""
        return self._root

    @property
    def size_bytes(self) -> int:
        """Bytes currently used by cached frames."""
        with self._locked():
            return self._total

    @property
    def limit_bytes(self) -> int:
        """The size bound."""
        return self._limit

    def set_limit(self, limit_bytes: int) -> None:
        """Change the size bound, evicting frames at once if the cache is now too large."""
        with self._locked():
            self._limit = int(limit_bytes)
            doomed = self._evict_locked(keep=None)
        self._unlink(doomed)

    def frames(self, key: str) -> frozenset[int]:
        """Indices of the frames cached under ``key``."""
        with self._locked():
            return frozenset(self._by_folder.get(_folder_name(key), ()))

    def contains(self, key: str, index: int) -> bool:
        """Whether frame ``index`` is cached under ``key``."""
        with self._locked():
            return index in self._by_folder.get(_folder_name(key), ())

    def get(self, key: str, index: int) -> np.ndarray | None:
        """Read a cached frame.

        Returns:
            HxWx3 uint8 or uint16 RGB, or None when the frame is not cached (or its file is damaged).
        """
        folder = _folder_name(key)
        with self._locked():
            if index not in self._by_folder.get(folder, ()):
                return None
            self._entries.move_to_end((folder, index))
        path = self._path(folder, index)
        try:
            return decode_png(path.read_bytes())
        except (OSError, ValueError) as exc:
            logger.warning("dropping unreadable cached frame %s: %s", path, exc)
            self._forget(folder, index)
            return None

    def put(self, key: str, index: int, rgb: np.ndarray) -> None:
        """Store a frame (atomically) and evict old frames if the bound is exceeded.

        Args:
            key: The key of the segment that produced the frame.
            index: Frame index in the video.
            rgb: HxWx3 uint8 or uint16 RGB.
        """
        self.scan()  # before writing: the first scan deletes temporary files it finds
        folder = _folder_name(key)
        path = self._path(folder, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = encode_png(rgb)
        tmp = path.with_suffix(f".tmp{threading.get_ident()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        with self._locked():
            old = self._entries.pop((folder, index), 0)
            self._entries[(folder, index)] = len(data)
            self._by_folder.setdefault(folder, set()).add(index)
            self._total += len(data) - old
            doomed = self._evict_locked(keep=(folder, index))
        self._unlink(doomed)

    def remove_key(self, key: str) -> None:
        """Delete every frame cached under ``key``."""
        folder = _folder_name(key)
        with self._locked():
            indices = self._by_folder.pop(folder, set())
            for index in indices:
                self._total -= self._entries.pop((folder, index), 0)
        shutil.rmtree(self._root / folder, ignore_errors=True)

    def clear(self) -> None:
        """Delete every cached frame."""
        with self._locked():
            folders = list(self._by_folder)
            self._entries.clear()
            self._by_folder.clear()
            self._total = 0
        for folder in folders:
            shutil.rmtree(self._root / folder, ignore_errors=True)

    def _path(self, folder: str, index: int) -> Path:
        return self._root / folder / f"{index:07d}.png"

    def scan(self) -> None:
        """Index what earlier runs left in the folder (once; later calls return at once)."""
        with self._locked():
            pass

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the lock, indexing the folder first if that has not been done yet."""
        with self._lock:
            if not self._scanned:
                self._scanned = True
                self._scan_locked()
            yield

    def _scan_locked(self) -> None:
        """Index what earlier runs left in the folder, oldest first."""
        if not self._root.is_dir():
            return
        found: list[tuple[float, str, int, int]] = []
        for sub in self._root.iterdir():
            if not sub.is_dir():
                continue
            for file in sub.iterdir():
                if file.suffix != ".png" or not file.stem.isdigit():
                    if ".tmp" in file.suffix:
                        file.unlink(missing_ok=True)  # left by a crash mid-write
                    continue
                stat = file.stat()
                found.append((stat.st_mtime, sub.name, int(file.stem), stat.st_size))
        for _, folder, index, size in sorted(found):
            self._entries[(folder, index)] = size
            self._by_folder.setdefault(folder, set()).add(index)
            self._total += size
        logger.info("frame cache %s: %d frames, %.1f MB", self._root, len(self._entries), self._total / 1e6)

    def _evict_locked(self, keep: tuple[str, int] | None) -> list[Path]:
        doomed: list[Path] = []
        while self._total > self._limit and self._entries:
            entry, size = next(iter(self._entries.items()))
            if entry == keep:
                if len(self._entries) == 1:
                    break
                self._entries.move_to_end(entry)
                continue
            del self._entries[entry]
            self._by_folder[entry[0]].discard(entry[1])
            self._total -= size
            doomed.append(self._path(*entry))
        return doomed

    def _forget(self, folder: str, index: int) -> None:
        with self._locked():
            self._total -= self._entries.pop((folder, index), 0)
            self._by_folder.get(folder, set()).discard(index)
        self._unlink([self._path(folder, index)])

    @staticmethod
    def _unlink(paths: list[Path]) -> None:
        for path in paths:
            path.unlink(missing_ok=True)
