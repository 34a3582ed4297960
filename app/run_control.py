"""Colorize and export runs for the controller: start them on the worker, follow their frames, end them.

One run goes at a time. The worker checks the run's cancel event before each frame; frames that arrive after a
cancel are still cached (they are correct) but neither counted nor followed. An exemplar edit during a colorize run
cancels it and starts the same request again on the new segments, which skips the frames still cached.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import SignalInstance

from app.jobs import ColorizedFrame, ExportJob, RunRequest
from app.model.engine_settings import CHECKPOINT_ENGINE
from app.progress import RunMeter

if TYPE_CHECKING:
    from app.model.project import Project
    from colormnet.video import VideoInfo


@dataclass
class Run:
    """The run in progress."""

    kind: str  # colorize | export
    request: RunRequest | ExportJob
    cancel: threading.Event


class RunControl:
    """Mixin of the controller holding the colorize and export runs."""

    project: Project
    video_info: VideoInfo | None
    model_state: str
    model_problem: str
    current_frame: int
    follow_playhead: bool
    colorized: np.ndarray
    _run: Run | None
    run_notice: str
    _restart: RunRequest | None
    _meter: RunMeter
    # Signals of the controller (declared there).
    sig_error: SignalInstance
    sig_weights_missing: SignalInstance
    sig_status: SignalInstance
    sig_run_started: SignalInstance
    sig_progress: SignalInstance
    sig_run_finished: SignalInstance
    sig_export_finished: SignalInstance
    sig_colorized_changed: SignalInstance
    _sig_worker_colorize: SignalInstance
    _sig_worker_export: SignalInstance

    @property
    def frame_count(self) -> int:
        raise NotImplementedError

    def key_at(self, frame: int) -> str:
        raise NotImplementedError

    def set_current_frame(self, index: int) -> None:
        raise NotImplementedError

    def _request_frame(self) -> None:
        raise NotImplementedError

    def colorize_segment(self) -> None:
        """Colorize the segment under the playhead."""
        self._start_colorize(RunRequest("segment", self.current_frame))

    def colorize_from_here(self) -> None:
        """Colorize from the playhead to the out point (or the end)."""
        stop = self.project.out_point + 1 if self.project.out_point is not None else None
        self._start_colorize(RunRequest("from_here", self.current_frame, stop))

    def colorize_in_out(self) -> None:
        """Colorize the frames from the in point to the out point, both included.

        A range that starts inside a segment is reached from that segment's exemplar: the session computes the frames
        between them too (they count in the progress), but only the range's frames are asked for.
        """
        if self.project.in_point is None and self.project.out_point is None:
            self.sig_error.emit("There is no In or Out point; set them with I and O before colorizing In→Out.")
            return
        start, stop = self.project.export_range()
        self._start_colorize(RunRequest("range", start, stop))

    def colorize_all(self) -> None:
        """Colorize every frame."""
        self._start_colorize(RunRequest("all"))

    def colorize_range(self, start: int, stop: int) -> None:
        """Colorize frames ``[start, stop)``."""
        self._start_colorize(RunRequest("range", start, stop))

    def cancel(self) -> None:
        """Stop the current run; the session notices before its next frame."""
        if self._run is not None:
            self._run.cancel.set()

    def export(self, job: ExportJob) -> None:
        """Export frames to a file, colorizing the missing ones first (the result comes as a signal)."""
        if not self._can_run():
            return
        self._run = Run("export", job, threading.Event())
        self._sig_worker_export.emit(job, self._run.cancel)

    def _start_colorize(self, request: RunRequest) -> None:
        if not self._can_run():
            return
        if not self.project.exemplars:
            self.sig_error.emit("There is no exemplar yet; add one at a frame (Ctrl+E) before colorizing.")
            return
        self._run = Run("colorize", request, threading.Event())
        self._sig_worker_colorize.emit(request, self._run.cancel)

    def _can_run(self) -> bool:
        if self.video_info is None:
            self.sig_error.emit("No video is open; open a video first.")
            return False
        if self._run is not None:
            self.sig_error.emit("A run is already going on; wait for it or cancel it first.")
            return False
        if self.model_state == "missing":
            if self.project.settings.engine == CHECKPOINT_ENGINE:
                self.sig_weights_missing.emit("The ColorMNet weights are not installed; download or locate them first.")
            else:
                self.sig_error.emit(self.model_problem)
            return False
        return True

    def _on_worker_run_started(self, kind: str, total: int) -> None:
        self.sig_progress.emit(self._meter.start(total))
        self.sig_run_started.emit(kind)

    def _on_worker_frame(self, frame: ColorizedFrame) -> None:
        if frame.key and frame.index < self.frame_count and frame.key == self.key_at(frame.index):
            self.colorized[frame.index] = True
            self.sig_colorized_changed.emit()
        if self._run is None or self._run.cancel.is_set():
            return  # the tail of a cancelled run: cached, but neither counted nor followed
        self.sig_progress.emit(self._meter.update(frame.done, frame.total))
        if frame.notice:
            self.run_notice = frame.notice  # restated when the run ends: the status note alone goes by unseen
            self.sig_status.emit(frame.notice)
        if self.follow_playhead:
            self.set_current_frame(frame.index)
        if frame.index == self.current_frame:
            self._request_frame()

    def _on_worker_run_finished(self, kind: str, cancelled: bool, error: str) -> None:
        run, self._run = self._run, None
        if error:
            self.sig_error.emit(error)
        if run is not None and isinstance(run.request, ExportJob):
            if cancelled or error:
                self.sig_export_finished.emit(False, error or "The export was cancelled.")
            else:
                self.sig_export_finished.emit(True, str(run.request.path))
        self.sig_run_finished.emit(kind, cancelled)
        restart, self._restart = self._restart, None
        if restart is not None and not error:
            self._start_colorize(restart)
        if self._run is None:
            self.run_notice = ""  # told with the end of this run; a run started again carries it on
