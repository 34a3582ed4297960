"""The threads of the app: every QThread is started and stopped here.

:class:`WorkerThread` moves a worker QObject to its own QThread and tears it down with the discipline that keeps Qt
happy (stop the work, quit the event loop, ``wait()``). Every started thread is registered so tests can fail when
one is left running. Worker objects receive their jobs as queued signals, so a worker runs one job at a time, in the
order they were asked for; long jobs check a ``threading.Event`` to stop early.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot

logger = logging.getLogger(__name__)

_THREADS: weakref.WeakSet[QThread] = weakref.WeakSet()
_STOP_TIMEOUT_MS = 30_000
_PROGRESS_INTERVAL_S = 0.1  # download progress signals at most ten times a second


def running_threads() -> list[QThread]:
    """QThreads started by :class:`WorkerThread` that are still running."""
    return [thread for thread in list(_THREADS) if thread.isRunning()]


class WorkerThread:
    """A QThread that owns one worker object.

    Args:
        worker: The QObject to move to the thread (it must have no parent).
        name: Thread name shown in debuggers and logs.
    """

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        _THREADS.add(self.thread)
        self.thread.start()
        logger.debug("started thread %s", name)

    def stop(self, before_quit: Callable[[], None] | None = None) -> None:
        """Stop the thread and wait for it.

        Args:
            before_quit: Called first to make a running job return early (for example setting its cancel event).
        """
        if before_quit is not None:
            before_quit()
        self.thread.quit()
        if not self.thread.wait(_STOP_TIMEOUT_MS):
            logger.error("thread %s did not stop in time", self.thread.objectName())
        self.worker.deleteLater()


class DownloadWorker(QObject):
    """Downloads the official checkpoint off the GUI thread."""

    sig_progress = Signal(int, int)
    """Bytes done and the total (0 when the server does not say)."""
    sig_finished = Signal(str)
    """The checkpoint's path after a complete, checked download."""
    sig_failed = Signal(str, bool)
    """A one-sentence message, and whether the user cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()

    @Slot(str)
    def download(self, dest: str) -> None:
        """Download to ``dest`` (the default location when empty)."""
        from colormnet.engines.colormnet.weights import download_weights
        from colormnet.errors import ColorMNetError

        self.cancel_event.clear()
        last_emit = [0.0]
        fetched = [False]

        def progress(done: int, total: int | None) -> None:
            fetched[0] = True
            now = time.monotonic()
            if now - last_emit[0] >= _PROGRESS_INTERVAL_S or (total is not None and done >= total):
                last_emit[0] = now
                self.sig_progress.emit(done, total or 0)

        try:
            path = download_weights(Path(dest) if dest else None, progress=progress, cancel=self.cancel_event)
        except ColorMNetError as exc:
            self.sig_failed.emit(str(exc), self.cancel_event.is_set())
        except Exception as exc:  # a bug must reach the user as a message, not kill the thread silently
            logger.exception("weights download failed")
            self.sig_failed.emit(f"The download failed unexpectedly ({exc}); see the log file.", False)
        else:
            if fetched[0]:
                self.sig_finished.emit(str(path))
            else:  # weights that read were there already (random ones, say): the library leaves them
                self.sig_failed.emit(f"Weights are already at {path}, so nothing was downloaded; to download the "
                                     "published ones there, move that file away first.", False)
