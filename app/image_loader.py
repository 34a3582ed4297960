"""Images of exemplar files, decoded off the GUI thread (the panel's thumbnails, the viewer's exemplar and stand-in).

An exemplar is often a large scan (a 24-megapixel PNG takes half a second to decode): decoded on the GUI thread, a
project with many of them froze the window while the exemplar panel filled, and stepping onto a keyframe froze it
again. :class:`ImageLoader` hands out a file's current version at the size asked for when it has it, and nothing
while a thread of its own decodes it; ``sig_ready`` then says to ask again.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap

_Key = tuple[Path, int, int, int]  # the file, its modification time and the size it must fit


def decode_at_size(path: Path, size: QSize) -> QImage:
    """``path`` decoded to fit ``size`` when larger (turned as its EXIF says; JPEG's decoder scales while it
    decodes); a null image when it cannot be read."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size.width() or full.height() > size.height()):
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


class ImageLoader(QObject):
    """Decodes image files on one thread of its own, each once per version and size; lives on the GUI thread."""

    sig_ready = Signal()
    """Images asked for earlier are ready: ask again."""
    _sig_decoded = Signal(object, object)  # key, QImage; emitted on the decoding thread, received on this one

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._images: dict[_Key, QImage] = {}
        self._icons: dict[_Key, QIcon] = {}
        self._pending: set[_Key] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._sig_decoded.connect(self._on_decoded)

    def image(self, path: Path, size: QSize) -> QImage | None:
        """``path`` as it is now, fitting ``size``; None while it is decoded or when it cannot be read."""
        key = self._key(path, size)
        if key is None:
            return None
        image = self._images.get(key)
        if image is None:
            self._request(key, size)
            return None
        return None if image.isNull() else image

    def icon(self, path: Path, size: QSize) -> QIcon:
        """:meth:`image` as an icon (an empty one until then)."""
        key = self._key(path, size)
        if key is None:
            return QIcon()
        if key not in self._icons:
            image = self.image(path, size)
            if key not in self._images:
                return QIcon()
            self._icons[key] = QIcon() if image is None else QIcon(QPixmap.fromImage(image))
        return self._icons[key]

    def clear(self) -> None:
        """Let every decoded image go (another film opens)."""
        self._images.clear()
        self._icons.clear()

    def shutdown(self) -> None:
        """Drop what is still to decode and wait for the file being decoded (the window closes)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    @staticmethod
    def _key(path: Path, size: QSize) -> _Key | None:
        try:
            return path, path.stat().st_mtime_ns, size.width(), size.height()
        except OSError:
            return None

    def _request(self, key: _Key, size: QSize) -> None:
        if key in self._pending:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="images")
        self._pending.add(key)
        self._pool.submit(self._decode, key, QSize(size))

    def _decode(self, key: _Key, size: QSize) -> None:  # on the decoding thread
        image = decode_at_size(key[0], size)
        with contextlib.suppress(RuntimeError):  # the loader is gone (its window closed)
            self._sig_decoded.emit(key, image)

    def _on_decoded(self, key: _Key, image: QImage) -> None:
        if key not in self._pending:
            return  # asked for before a shutdown
        self._pending.discard(key)
        self._images[key] = image
        self.sig_ready.emit()
