"""Colorized frames kept on disk, so scrubbing back and exporting reuse them.

A frame is stored under the key of the segment that produced it (the session's ``segment_key``: a hash of the video,
the segment's exemplar, the settings and the weights), so a frame is valid exactly while its segment's key is
unchanged; editing one exemplar changes only the keys of the segments it governs. Files are lossless PNGs at the
source's bit depth, the total size is bounded and the least recently used frames go first.

The cache is shared by the GUI thread (lookups), the frame loader (reads) and the session worker (writes); every
method is thread-safe. What earlier runs left on disk is indexed on first use; the session worker calls
:meth:`FrameCache.scan` when it opens a session, so a large cache is never indexed on the GUI thread.

The cache deletes files (eviction, clean-up of interrupted writes), so it keeps to its own folder whatever it is
given: the folder is a plain name directly inside the app's cache folder (symlinks resolved), and only files named as
the cache names them, in sub-folders that are not symlinks, are indexed, evicted or deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from app.model.paths import child_folder
from app.model.png_codec import decode_png, encode_png

logger = logging.getLogger(__name__)

DEFAULT_LIMIT_BYTES = 4 * 1024**3
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FRAME_FILE = re.compile(r"^[0-9]{7,}\.png$")  # what _path names
_TEMP_FILE = re.compile(r"^[0-9]{7,}\.tmp[0-9]+$")  # what put writes before renaming it


def _folder_name(key: str) -> str:
    """Map a segment key to a folder name (keys that are not plain hashes are hashed)."""
    return key if _SAFE_KEY.match(key) else hashlib.sha1(key.encode()).hexdigest()


class FrameCache:
    """A size-bounded on-disk store of colorized frames.

    Args:
        parent: The app's cache folder.
        name: The cache's own folder inside ``parent`` (a project id), holding one sub-folder per segment key
            (created when missing).
        limit_bytes: Size above which the least recently used frames are deleted.

    Raises:
        OutsideFolderError: ``name`` is not a plain folder name or leads outside ``parent``.
    """

    def __init__(self, parent: str | Path, name: str, *, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self._root = child_folder(Path(parent), name)
        self._limit = int(limit_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int], int] = OrderedDict()  # (folder, index) -> bytes, LRU first
        self._by_folder: dict[str, set[int]] = {}
        self._total = 0
        self._scanned = False
        self._dropped = False

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
        if self._dropped:
            return
        self.scan()  # before writing: the first scan deletes temporary files it finds
        folder = _folder_name(key)
        path = self._path(folder, index)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.parent.is_symlink():  # never write through a link put in place of a key's folder
            logger.warning("not caching frame %d: %s is a symlink", index, path.parent)
            return
        data = encode_png(rgb)
        tmp = path.with_suffix(f".tmp{threading.get_ident()}")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            if not self._dropped:
                raise
            tmp.unlink(missing_ok=True)  # its folder was set aside under it
        with self._locked():
            if self._dropped:  # dropped while it was written: its folder may have gone, and come back with it
                self._unwrite(path)
                return
            old = self._entries.pop((folder, index), 0)
            self._entries[(folder, index)] = len(data)
            self._by_folder.setdefault(folder, set()).add(index)
            self._total += len(data) - old
            doomed = self._evict_locked(keep=(folder, index))
        self._unlink(doomed)

    def drop(self) -> None:
        """Write nothing more: the project it served was replaced, and its folder goes. A frame being written as it
        is dropped is taken away again, with the folders its write made."""
        with self._lock:
            self._dropped = True

    def _unwrite(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        for folder in (path.parent, self._root):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty

    def remove_key(self, key: str) -> None:
        """Delete every frame cached under ``key``."""
        folder = _folder_name(key)
        with self._locked():
            indices = self._by_folder.pop(folder, set())
            for index in indices:
                self._total -= self._entries.pop((folder, index), 0)
        _remove_frames(self._root / folder)

    def clear(self) -> None:
        """Delete every cached frame."""
        with self._locked():
            folders = list(self._by_folder)
            self._entries.clear()
            self._by_folder.clear()
            self._total = 0
        for folder in folders:
            _remove_frames(self._root / folder)

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
            if sub.is_symlink() or not sub.is_dir() or not _SAFE_KEY.match(sub.name):
                continue  # not a folder the cache made: leave it alone
            for file in sub.iterdir():
                if file.is_symlink() or not file.is_file():
                    continue
                if _TEMP_FILE.match(file.name):
                    file.unlink(missing_ok=True)  # left by a crash mid-write
                if not _FRAME_FILE.match(file.name):
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
            if path.parent.is_symlink():  # a link put in place of a key's folder: what it points to is not ours
                logger.warning("not deleting %s: its folder is a symlink", path)
                continue
            path.unlink(missing_ok=True)


def remove_cache_folder(parent: Path, name: str) -> None:
    """Delete the cached frames in the folder ``name`` of the app's cache folder ``parent`` (a project's cache).

    Only what the cache writes goes (see :func:`_remove_frames`); the folders go when that leaves them empty.

    Raises:
        OutsideFolderError: ``name`` is not a plain folder name or leads outside ``parent``.
    """
    root = child_folder(parent, name)
    if not root.is_dir():
        return
    for sub in root.iterdir():
        if _SAFE_KEY.match(sub.name):
            _remove_frames(sub)
    with contextlib.suppress(OSError):
        root.rmdir()


def _remove_frames(folder: Path) -> None:
    """Delete the frame and temporary files in the key folder ``folder``, then the folder if that empties it.

    A symlink in place of the folder is not followed: only the link goes.
    """
    if folder.is_symlink():
        folder.unlink(missing_ok=True)
        return
    if not folder.is_dir():
        return
    for file in folder.iterdir():
        if _FRAME_FILE.match(file.name) or _TEMP_FILE.match(file.name):
            file.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()  # only when empty
