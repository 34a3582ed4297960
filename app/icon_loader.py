"""Icons of image files, decoded off the GUI thread (the exemplar panel's thumbnails).

An exemplar is often a large scan (a 24-megapixel PNG takes half a second to decode); a project with many of them
froze the window while its panel filled. :class:`IconLoader` hands out the icon of a file's current version when it
has it, and an empty one while a thread of its own decodes the file at icon size; ``sig_ready`` then says the icon
is there, and the list asks again.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap

_Key = tuple[Path, int, int, int]  # the file, its modification time and the icon's size


def decode_at_size(path: Path, size: QSize) -> QImage:
    """``path`` decoded to fit ``size`` (turned as its EXIF says; JPEG's decoder scales while it decodes); a null
    image when it cannot be read."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid():
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    return reader.read()


class IconLoader(QObject):
    """Decodes image files at icon size on one thread of its own; lives on the GUI thread."""

    sig_ready = Signal()
    """Icons asked for earlier are ready: ask :meth:`icon` again."""
    _sig_decoded = Signal(object, object)  # key, QImage; emitted on the decoding thread, received on this one

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._icons: dict[_Key, QIcon] = {}
        self._pending: set[_Key] = set()
        self._pool: ThreadPoolExecutor | None = None
        self._sig_decoded.connect(self._on_decoded)

    def icon(self, path: Path, size: QSize) -> QIcon:
        """The icon of ``path`` as it is now, or an empty icon while it is decoded (one that cannot be read stays
        empty)."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            return QIcon()
        key = (path, stamp, size.width(), size.height())
        if key in self._icons:
            return self._icons[key]
        if key not in self._pending:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="icons")
            self._pending.add(key)
            self._pool.submit(self._decode, key, size)
        return QIcon()

    def shutdown(self) -> None:
        """Drop what is still to decode and wait for the file being decoded (the window closes)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    def _decode(self, key: _Key, size: QSize) -> None:  # on the decoding thread
        image = decode_at_size(key[0], size)
        with contextlib.suppress(RuntimeError):  # the loader is gone (its window closed)
            self._sig_decoded.emit(key, image)

    def _on_decoded(self, key: _Key, image: QImage) -> None:
        if key not in self._pending:
            return  # asked for before a shutdown
        self._pending.discard(key)
        self._icons[key] = QIcon() if image.isNull() else QIcon(QPixmap.fromImage(image))
        self.sig_ready.emit()
