"""Thumbnails of the film for the timeline's strip: decoded off the GUI thread, cached per video content.

A :class:`ThumbnailWorker` lives on its own thread with its own :class:`~colormnet.video.VideoReader`; it decodes a
few evenly spaced frames, shrinks them to :data:`THUMB_HEIGHT` pixels and hands them over in small batches, so the
strip fills in while the film is read. The finished set is stored in the app's thumbnail folder under a key of the
video's *content* (its size and the hash of its first and last MiB, or of a sequence folder's listing), so reopening
the same film, under any name, shows its strip at once; a changed file gets a new key. A cached file is untrusted
input: anything but the expected arrays is ignored and rebuilt. Opening another video cancels the build in progress
within one frame (:class:`ThumbnailStrip` sets its event and ignores its late answers).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from app.worker import WorkerThread
from colormnet.fileio import write_bytes_atomic

if TYPE_CHECKING:
    from app.controller import Controller
    from app.widgets.timeline import Timeline

logger = logging.getLogger(__name__)

THUMB_HEIGHT = 36
MAX_THUMBS = 48
_BATCH = 6  # thumbnails handed to the GUI at a time
_HASHED_BYTES = 1 << 20
_FORMAT = 1  # bump when the stored arrays change


def content_key(path: Path) -> str:
    """A key of what ``path`` holds (a video file, or a folder of numbered images), not of its name.

    Raises:
        OSError: ``path`` cannot be read.
    """
    digest = hashlib.sha256(f"thumbnails-v{_FORMAT}-{THUMB_HEIGHT}-{MAX_THUMBS}".encode())
    if path.is_dir():
        for entry in sorted(path.iterdir()):
            stat = entry.stat()
            digest.update(f"{entry.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:32]
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as file:
        digest.update(file.read(_HASHED_BYTES))
        if size > 2 * _HASHED_BYTES:
            file.seek(size - _HASHED_BYTES)
            digest.update(file.read(_HASHED_BYTES))
    return digest.hexdigest()[:32]


def thumbnail_frames(frame_count: int, count: int = MAX_THUMBS) -> list[int]:
    """The frames the strip shows: the middle frames of ``count`` equal stretches (fewer for a short film)."""
    count = min(count, frame_count)
    if count <= 0:
        return []
    return [min(frame_count - 1, int((k + 0.5) * frame_count / count)) for k in range(count)]


def shrink(rgb: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    """``rgb`` (HxWx3, 8 or 16 bit) as uint8, ``height`` pixels high (aspect kept), averaged over each block."""
    from PIL import Image

    rgb8 = rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8)
    h, w = rgb8.shape[:2]
    width = max(1, round(w * height / max(1, h)))
    image = Image.fromarray(np.ascontiguousarray(rgb8)).resize((width, height), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.uint8)


def load_cached(file: Path, frames: list[int]) -> dict[int, np.ndarray] | None:
    """The thumbnails stored in ``file`` when it holds exactly ``frames`` as uint8 RGB images, else None."""
    try:
        with np.load(file, allow_pickle=False) as data:
            indices = data["frames"]
            images = data["images"]
    except (OSError, ValueError, KeyError, EOFError) as exc:
        if file.exists():
            logger.warning("ignoring the thumbnail cache %s: %s", file, exc)
        return None
    if (indices.tolist() != frames or images.dtype != np.uint8 or images.ndim != 4 or images.shape[0] != len(frames)
            or images.shape[1] != THUMB_HEIGHT or images.shape[3] != 3):
        return None
    with contextlib.suppress(OSError):
        os.utime(file)  # in use: the stale-file clean-up (app.stale_pruning) goes by this date
    return {frame: images[k] for k, frame in enumerate(frames)}


def store(file: Path, thumbnails: dict[int, np.ndarray]) -> None:
    """Write ``thumbnails`` (all of one size) to ``file`` atomically; a failure is logged, not raised."""
    frames = sorted(thumbnails)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, frames=np.array(frames, dtype=np.int64),
                        images=np.stack([thumbnails[f] for f in frames]))
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(file, buffer.getvalue())
    except OSError as exc:
        logger.warning("cannot cache the thumbnails in %s: %s", file, exc)


class ThumbnailWorker(QObject):
    """Decodes the strip's thumbnails; lives on its own thread."""

    sig_thumbnails = Signal(int, object)
    """Some thumbnails are ready: the build's token and a dict frame -> HxWx3 uint8 (upright)."""
    sig_finished = Signal(int, bool)
    """A build ended: its token and whether every thumbnail was made (False: cancelled or failed)."""

    @Slot(int, str, str, object)
    def build(self, token: int, video: str, cache_dir: str, cancel: threading.Event) -> None:
        """Make the thumbnails of ``video``, from ``cache_dir`` when they are there, else by decoding it."""
        complete = False
        try:
            complete = self._build(token, Path(video), Path(cache_dir), cancel)
        except Exception as exc:  # thumbnails are a convenience: a film they fail on still opens and colorizes
            logger.warning("no thumbnails for %s: %s", video, exc)
        self.sig_finished.emit(token, complete)

    def _build(self, token: int, video: Path, cache_dir: Path, cancel: threading.Event) -> bool:
        from colormnet.video import VideoReader
        from colormnet.video.orientation import to_display

        file = cache_dir / f"{content_key(video)}.npz"
        with VideoReader(video) as reader:
            frames = thumbnail_frames(reader.info.frame_count)
            cached = load_cached(file, frames)
            if cached is not None:
                self.sig_thumbnails.emit(token, cached)
                return True
            made: dict[int, np.ndarray] = {}
            batch: dict[int, np.ndarray] = {}
            for frame in frames:
                if cancel.is_set():
                    return False
                batch[frame] = shrink(to_display(reader.read(frame), reader.info.rotation))
                if len(batch) >= _BATCH:
                    self.sig_thumbnails.emit(token, batch)
                    made.update(batch)
                    batch = {}
            if batch:
                self.sig_thumbnails.emit(token, batch)
                made.update(batch)
        if made and len({image.shape for image in made.values()}) == 1:
            store(file, made)
        return True


def _gray_qimage(rgb: np.ndarray) -> QImage:
    """A thumbnail as the viewer shows the source: its luma, whatever tint or colour the film's copy has (the model
    sees only the luminance; the demo clip's true colours would give the answer away)."""
    from app.frame_loader import to_gray8

    return to_qimage(np.repeat(to_gray8(rgb)[..., None], 3, axis=2))


def to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage owning a copy of ``rgb`` (HxWx3 uint8); call on the GUI thread."""
    rgb = np.ascontiguousarray(rgb)
    return QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()


class ThumbnailStrip(QObject):
    """Builds the thumbnails of the open video in the background and hands them to a view.

    Args:
        cache_dir: Folder of the cached thumbnail sets.
        parent: Owner of this object.
    """

    sig_changed = Signal(object)
    """The thumbnails to show changed; carries a dict frame -> QImage (empty: none)."""
    sig_finished = Signal(bool)
    """The current build ended: whether every thumbnail was made."""
    _sig_build = Signal(int, str, str, object)

    def __init__(self, cache_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache_dir = cache_dir
        self.thumbnails: dict[int, QImage] = {}
        self.building = False
        self._token = 0
        self._cancel = threading.Event()
        self._thread: WorkerThread | None = None

    def start(self, video: Path | None) -> None:
        """Show the thumbnails of ``video`` (None: none), cancelling the build of the video before."""
        self._cancel.set()
        self._token += 1
        self._cancel = threading.Event()
        self.thumbnails = {}
        self.sig_changed.emit({})
        if video is None:
            self.building = False
            return
        if self._thread is None:
            worker = ThumbnailWorker()
            worker.sig_thumbnails.connect(self._on_worker_thumbnails)
            worker.sig_finished.connect(self._on_worker_finished)
            self._sig_build.connect(worker.build)
            self._thread = WorkerThread(worker, "colormnet-thumbnails")
        self.building = True
        self._sig_build.emit(self._token, str(video), str(self.cache_dir), self._cancel)

    def shutdown(self) -> None:
        """Cancel the build and stop the thread (later calls do nothing)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop(self._cancel.set)
        self.building = False

    def attach(self, controller: Controller, timeline: Timeline) -> None:
        """Build the thumbnails of each video ``controller`` opens and show them on ``timeline`` (none once the project
        is closed)."""
        self.sig_changed.connect(timeline.set_thumbnails)
        controller.sig_video_opened.connect(lambda info: self.start(Path(info.path)))
        controller.files.sig_close_video.connect(lambda: self.start(None))  # the project was closed: no film

    def _on_worker_thumbnails(self, token: int, images: dict[int, np.ndarray]) -> None:
        if token != self._token:
            return  # a cancelled build's late answer
        self.thumbnails.update({frame: _gray_qimage(rgb) for frame, rgb in images.items()})
        self.sig_changed.emit(dict(self.thumbnails))

    def _on_worker_finished(self, token: int, complete: bool) -> None:
        if token == self._token:
            self.building = False
            self.sig_finished.emit(complete)
