"""Downloading the official checkpoint in the background, with progress and cancel."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.worker import DownloadWorker, WorkerThread

logger = logging.getLogger(__name__)


class WeightsDownload(QObject):
    """Runs :func:`colormnet.engines.colormnet.weights.download_weights` on its own thread, started on first use."""

    sig_progress = Signal(int, int)
    """Bytes downloaded and the total (0 when unknown)."""
    sig_finished = Signal(bool, str)
    """The download ended: success, and the checkpoint's path or a one-sentence message."""
    _sig_start = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._thread: WorkerThread | None = None
        self._worker: DownloadWorker | None = None

    def start(self, dest: Path | None = None) -> None:
        """Start downloading to ``dest`` (the library's default location when None)."""
        if self._worker is None:
            self._worker = DownloadWorker()
            self._worker.sig_progress.connect(self.sig_progress)
            self._worker.sig_finished.connect(self._on_worker_finished)
            self._worker.sig_failed.connect(self._on_worker_failed)
            self._sig_start.connect(self._worker.download)
            self._thread = WorkerThread(self._worker, "colormnet-download")
        self._sig_start.emit(str(dest) if dest is not None else "")

    def cancel(self) -> None:
        """Stop the download at its next chunk; the partial file is kept and resumed next time."""
        if self._worker is not None:
            self._worker.cancel_event.set()

    def shutdown(self) -> None:
        """Cancel and stop the thread (before the application quits)."""
        if self._thread is not None and self._worker is not None:
            self._thread.stop(self._worker.cancel_event.set)
            self._thread = None
            self._worker = None

    def _on_worker_finished(self, path: str) -> None:
        self.sig_finished.emit(True, path)

    def _on_worker_failed(self, message: str, cancelled: bool) -> None:
        self.sig_finished.emit(False, "The download was cancelled." if cancelled else message)
