"""Reads the frames the viewer shows, off the GUI thread.

Seeking and decoding a frame can take longer than a GUI handler may; the loader does it on its own QThread with its
own :class:`~colormnet.video.VideoReader` (readers are not shared between threads). Requests coalesce: while the
user scrubs, only the newest requested frame is read, so the loader never falls behind.

Frames are shown upright: a video with a display rotation (phone clips) has both its source and its colorized
frames turned here, for display only; the session, the cache and exports keep the stored orientation (see
:mod:`colormnet.video.orientation`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.model.frame_cache import FrameCache
from colormnet.errors import ColorMNetError, ExemplarError
from colormnet.video.orientation import to_display

logger = logging.getLogger(__name__)

# Rec. 601 luma: the source as a grayscale picture for the viewer only. The model never sees it: its input is CIE L*
# (colormnet.color.rgb_to_lab), which the session computes from the decoded RGB frame itself.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass(frozen=True)
class FrameRequest:
    """A frame to show: its index, the cache key of its segment ("" when it cannot be cached), and whether to read
    its colorized frame from the cache (not when the caller holds it in memory already)."""

    index: int
    key: str
    with_colour: bool = True
    video: str = ""  # the video it is asked of, as given to FrameLoader.open ("": whichever is open)


@dataclass(frozen=True)
class LoadedFrame:
    """A frame ready to show: the source as grayscale and, when cached, the colorized frame."""

    index: int
    gray: np.ndarray  # HxW uint8, upright
    color: np.ndarray | None  # HxWx3 uint8, upright (None: not cached, or not asked for)
    key: str
    with_colour: bool = True  # the colorized frame was asked for


def one_line(text: str) -> str:
    """``text`` with its line breaks and runs of white space folded into single spaces."""
    return " ".join(text.split())


def to_gray8(rgb: np.ndarray) -> np.ndarray:
    """The Rec. 601 luma of an RGB frame as uint8 (8- or 16-bit input), for display."""
    scale = 1.0 / 257.0 if rgb.dtype == np.uint16 else 1.0
    luma = rgb.astype(np.float32) @ (_LUMA * scale)
    return np.clip(luma + 0.5, 0, 255).astype(np.uint8)


def to_rgb8(rgb: np.ndarray) -> np.ndarray:
    """An RGB frame as uint8 (16-bit input is rounded down to 8 bits)."""
    return rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8)


class FrameLoader(QObject):
    """Decodes source frames and reads cached colorized frames; lives on its own QThread."""

    sig_opened = Signal(int, object)
    """A video was opened and its frames are read from now on: the open request's token and its VideoInfo."""
    sig_open_failed = Signal(int, str)
    """A video could not be opened (the one open before stays open): the request's token and a one-line message."""
    sig_loaded = Signal(object)
    """A requested frame is ready; carries a LoadedFrame."""
    sig_failed = Signal(int, str)
    """A frame could not be read: its index and a one-sentence message."""
    sig_exemplar_checked = Signal(int, str)
    """An exemplar image was checked: the request's token and why it is unusable ("" when it is fine)."""
    _sig_wake = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._pending: FrameRequest | None = None
        self._reader: Any = None
        self._video = ""  # the path the reader was opened with
        self._cache: FrameCache | None = None
        self._sig_wake.connect(self._on_wake)

    def request(self, request: FrameRequest) -> None:
        """Ask for a frame; thread-safe. A request not started yet is replaced by a newer one."""
        with self._lock:
            self._pending = request
        self._sig_wake.emit()

    @Slot(int, str, object)
    def open(self, token: int, path: str, cache: FrameCache | None) -> None:
        """Open the video whose frames are requested next, reading colorized frames from ``cache``.

        The video open before is closed only once the new one has opened: when it cannot be opened, for whatever
        reason, frames are still read from the previous video and cache, and ``sig_open_failed`` says why.
        """
        reader = None
        try:
            from colormnet.video import VideoReader

            reader = VideoReader(Path(path))
            info = reader.info
        except Exception as exc:
            if isinstance(exc, ColorMNetError):
                logger.warning("cannot open %s: %s", path, exc)
                message = str(exc)
            else:  # a bug or an unforeseen decoder error must reach the user as a message too
                logger.exception("opening %s failed", path)
                message = f"{Path(path).name} cannot be opened ({exc}); see the log file."
            if reader is not None:
                with contextlib.suppress(Exception):
                    reader.close()
            self.sig_open_failed.emit(token, one_line(message))
            return
        self.close()
        self._reader, self._video = reader, path
        self._cache = cache
        self.sig_opened.emit(token, info)

    @Slot()
    def close(self) -> None:
        """Close the video."""
        reader, self._reader = self._reader, None
        if reader is not None:
            try:
                reader.close()
            except Exception:  # closing must not stop the next video from opening
                logger.exception("closing the previous video failed")

    @Slot(int, str, object)
    def check_exemplar(self, token: int, path: str, write: Callable[[], None] | None = None) -> None:
        """Check that the image at ``path`` can serve as an exemplar (readable, in colour), writing it first with
        ``write`` where given (a pinned frame or a pasted image: encoding a full-size PNG is no work for the GUI)."""
        from colormnet.exemplar import load_exemplar_image

        try:
            if write is not None:
                try:
                    write()
                except OSError as exc:
                    raise ExemplarError(f"The image cannot be saved into the project ({exc.strerror or exc}); "
                                        "check the disk space.") from exc
            load_exemplar_image(Path(path))
        except ColorMNetError as exc:
            self.sig_exemplar_checked.emit(token, str(exc))
        except Exception as exc:  # a bug must reach the user as a message, not leave the edit hanging
            logger.exception("checking %s failed", path)
            self.sig_exemplar_checked.emit(token, f"{Path(path).name} cannot be checked ({exc}); see the log file.")
        else:
            self.sig_exemplar_checked.emit(token, "")

    @Slot()
    def _on_wake(self) -> None:
        with self._lock:
            request, self._pending = self._pending, None
        if request is None or self._reader is None:
            return
        if request.video and request.video != self._video:  # asked of the video before, just replaced: not this one's
            return
        rotation = self._reader.info.rotation
        try:
            gray = to_display(to_gray8(self._reader.read(request.index)), rotation)
        except ColorMNetError as exc:
            self.sig_failed.emit(request.index, one_line(str(exc)))
            return
        except Exception as exc:  # a bug must reach the user as a message, not leave "Loading frame..." on screen
            logger.exception("reading frame %d failed", request.index)
            message = f"Frame {request.index} cannot be read ({exc}); see the log file."
            self.sig_failed.emit(request.index, one_line(message))
            return
        color = None
        if self._cache is not None and request.key and request.with_colour:
            cached = self._cache.get(request.key, request.index)
            color = to_display(to_rgb8(cached), rotation) if cached is not None else None
        self.sig_loaded.emit(LoadedFrame(request.index, gray, color, request.key, request.with_colour))
