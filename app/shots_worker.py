"""Finding a video's shots in the background, beside the session.

Detection reads the video with its own reader, so it runs on a thread of its own while the session opens and
colorizes on the session's thread. The library caches the shot list per user (keyed by the video's content), so a
video opened again answers at once. Each detection has a token: an answer for a video that is no longer open is
dropped, and a cancel event stops a detection between frames.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from app.worker import WorkerThread
from colormnet.errors import ColorMNetError
from colormnet.shots import DetectionCancelledError, shots_for_video

logger = logging.getLogger(__name__)

_PROGRESS_INTERVAL_S = 0.2  # progress signals at most five times a second


class ShotsWorker(QObject):
    """Runs :func:`colormnet.shots.shots_for_video`; lives on its own QThread."""

    sig_progress = Signal(int, int, int)
    """Token, frames read and frames in the video."""
    sig_found = Signal(int, object)
    """Token and the shot list (a list of Shot)."""
    sig_failed = Signal(int, str, bool)
    """Token, a one-sentence message and whether the detection was cancelled."""

    @Slot(int, str, object)
    def detect(self, token: int, video: str, cancel: threading.Event) -> None:
        """Find the shots of ``video`` (from the cache when it has them)."""
        if cancel.is_set():
            self.sig_failed.emit(token, "", True)
            return
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_INTERVAL_S:
                last[0] = now
                self.sig_progress.emit(token, int(done), int(total or 0))

        try:
            shots = shots_for_video(Path(video), progress=progress, cancel=cancel)
        except DetectionCancelledError:
            self.sig_failed.emit(token, "", True)
        except ColorMNetError as exc:
            self.sig_failed.emit(token, f"The shots cannot be found ({exc}); the film is colorized as one shot.", False)
        except Exception as exc:  # a bug must reach the user as one message, not end the thread silently
            logger.exception("shot detection failed")
            self.sig_failed.emit(token, f"Finding the shots failed unexpectedly ({exc}); see the log file.", False)
        else:
            self.sig_found.emit(token, shots)


class ShotDetection(QObject):
    """The controller's handle on shot detection: one detection at a time, for the open video."""

    sig_progress = Signal(int, int)
    """Frames read and frames in the video."""
    sig_found = Signal(object)
    """The shots of the video asked for last (a list of Shot)."""
    sig_failed = Signal(str, bool)
    """The detection asked for last ended without shots: a message ("" when cancelled) and whether it was cancelled."""

    _sig_detect = Signal(int, str, object)

    def __init__(self) -> None:
        super().__init__()
        self._worker = ShotsWorker()
        self._worker.sig_progress.connect(self._on_progress)
        self._worker.sig_found.connect(self._on_found)
        self._worker.sig_failed.connect(self._on_failed)
        self._sig_detect.connect(self._worker.detect)
        self._thread = WorkerThread(self._worker, "colormnet-shots")
        self._token = 0
        self._cancel: threading.Event | None = None

    @property
    def running(self) -> bool:
        """Whether a detection is going on."""
        return self._cancel is not None

    def start(self, video: Path) -> None:
        """Find the shots of ``video``, cancelling a detection still going on."""
        self.cancel()
        self._token += 1
        self._cancel = threading.Event()
        self._sig_detect.emit(self._token, str(video), self._cancel)

    def cancel(self) -> None:
        """Stop the detection going on (its answer is a cancellation)."""
        if self._cancel is not None:
            self._cancel.set()

    def forget(self) -> None:
        """Stop the detection going on and drop its answer (another video is being opened)."""
        self.cancel()
        self._cancel = None
        self._token += 1

    def shutdown(self) -> None:
        """Stop the thread (before the application quits)."""
        self.forget()
        self._thread.stop()

    def _on_progress(self, token: int, done: int, total: int) -> None:
        if token == self._token and self._cancel is not None:
            self.sig_progress.emit(done, total)

    def _on_found(self, token: int, shots: list) -> None:
        if token == self._token:
            self._cancel = None
            self.sig_found.emit(shots)

    def _on_failed(self, token: int, message: str, cancelled: bool) -> None:
        if token == self._token:
            self._cancel = None
            self.sig_failed.emit(message, cancelled)
