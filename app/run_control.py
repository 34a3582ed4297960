"""Colorize and export runs: start them on the session worker, count their frames, end them.

One run goes at a time. The worker checks the run's cancel event before each frame; frames that arrive after a
cancel are still cached (they are correct) but neither counted nor followed. An exemplar edit or a changed shot list
during a colorize run cancels it and starts the same request again on the new segments (:meth:`RunControl.restart`),
which skips the frames still cached; so does the fallback engine taking over from a checkpoint that failed to load.
A run of a project that another replaces, or that is closed, stops and ends unseen (:meth:`RunControl.forget`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, SignalInstance

from app.jobs import ColorizedFrame, ExportJob, RunRequest
from app.progress import RunMeter

if TYPE_CHECKING:
    from app.engine_choice import EngineChoice
    from app.model.workspace import Workspace


@dataclass
class Run:
    """The run in progress."""

    kind: str  # colorize | export
    request: RunRequest | ExportJob
    cancel: threading.Event
    forgotten: bool = False  # the project it ran for was replaced or closed: it stops unseen
    end_note: str = ""  # said at its end in place of the usual note (its frames were colorized already)


class RunControl(QObject):
    """The colorize and export runs of the open session.

    Args:
        workspace: The open project and video.
        engine: The engine choice (a missing model refuses runs).
        colorize: Queues a colorize job on the session worker: ``(RunRequest, cancel event)``.
        export: Queues an export job on the session worker: ``(ExportJob, cancel event)``.
    """

    sig_run_started = Signal(str)
    """A colorize or export run started (its kind)."""
    sig_progress = Signal(object)
    """Progress of the current run; carries a Progress."""
    sig_frame = Signal(object, bool)
    """A frame was colorized and cached: the ColorizedFrame, and whether the run goes on (False for the tail of a
    cancelled run, which is neither counted nor followed)."""
    sig_run_finished = Signal(str, bool)
    """A run ended: its kind and whether it was cancelled."""
    sig_export_progress = Signal(int, int)
    """Frames written and frames to write during an export."""
    sig_export_finished = Signal(bool, str)
    """An export ended: whether the file was written, and the path or the reason it was not."""
    sig_error = Signal(str)
    """A run was refused or failed; carries a one-sentence message."""
    sig_status = Signal(str)
    """A short note for the status bar (what the session did about a problem during the run)."""
    sig_forgotten = Signal()
    """The open project's runs were forgotten (another project replaced it, it was closed, or the program ends): the
    run going on stops unseen, its end is not told (see :attr:`RunControl.run_forgotten`), and how the last one ended
    is no longer news."""

    def __init__(
        self, workspace: Workspace, engine: EngineChoice, colorize: SignalInstance, export: SignalInstance
    ) -> None:
        super().__init__()
        self._workspace = workspace
        self._engine = engine
        self._colorize = colorize
        self._export = export
        self._run: Run | None = None
        self._restart: RunRequest | None = None
        self._meter = RunMeter()
        self.run_notice = ""  # what the user must be told about the current or last run
        self.run_failed = False  # whether the last run ended on an error (its message was shown)
        self.run_forgotten = False  # whether the last run was of a project replaced or closed since (its end is untold)
        self.run_end_note = ""  # what the end of the last run says in place of the usual note ("": the usual one)

    @property
    def busy(self) -> bool:
        """Whether a colorize or export run is going on."""
        return self._run is not None

    @property
    def stopping(self) -> bool:
        """Whether the run going on was told to stop (it ends when the worker answers)."""
        return self._run is not None and self._run.cancel.is_set()

    @property
    def exporting(self) -> bool:
        """Whether an export is going on (its frames are computed at the export's precision, under its own keys)."""
        return self._run is not None and isinstance(self._run.request, ExportJob)

    # -- starting and stopping ---------------------------------------------------------------------------------

    def colorize_segment(self) -> None:
        """Colorize the segment under the playhead."""
        self._start_colorize(RunRequest("segment", self._workspace.current_frame))

    def colorize_shot(self) -> None:
        """Colorize the shot under the playhead."""
        self._start_colorize(RunRequest("shot", self._workspace.current_frame))

    def colorize_from_here(self) -> None:
        """Colorize from the playhead to the out point (or the end)."""
        out = self._workspace.project.out_point
        stop = out + 1 if out is not None else None
        self._start_colorize(RunRequest("from_here", self._workspace.current_frame, stop))

    def colorize_in_out(self) -> None:
        """Colorize the frames from the in point to the out point, both included.

        A range that starts inside a segment is reached from that segment's exemplar: the session computes the frames
        between them too (they count in the progress), but only the range's frames are asked for.
        """
        project = self._workspace.project
        if project.in_point is None and project.out_point is None:
            self.sig_error.emit("There is no In or Out point; set them with I and O before colorizing In→Out.")
            return
        start, stop = project.export_range()
        self._start_colorize(RunRequest("range", start, stop))

    def colorize_all(self) -> None:
        """Colorize every frame."""
        self._start_colorize(RunRequest("all"))

    def colorize_range(self, start: int, stop: int) -> None:
        """Colorize frames ``[start, stop)``."""
        self._start_colorize(RunRequest("range", start, stop))

    def export(self, job: ExportJob) -> None:
        """Export frames to a file, colorizing the missing ones first (the result comes as a signal)."""
        if not self._can_run():
            return
        self._run = Run("export", job, threading.Event())
        self._export.emit(job, self._run.cancel)

    def cancel(self) -> None:
        """Stop the current run; the session notices before its next frame."""
        if self._run is not None:
            self._run.cancel.set()

    def restart(self) -> None:
        """A colorize run in progress stops and starts again (on new segments, or with another engine)."""
        run = self._run
        if run is not None and isinstance(run.request, RunRequest) and not run.cancel.is_set():
            self._restart = run.request
            run.cancel.set()

    def model_failed(self, *, fallback: bool) -> None:
        """The model failed to load: with the ``fallback`` standing in, the colorize run that needed it goes on there
        once the session has reopened; else nothing starts again."""
        run = self._run
        go_on = fallback and run is not None and isinstance(run.request, RunRequest)
        self._restart = run.request if go_on and run is not None and isinstance(run.request, RunRequest) else None

    def forget(self) -> None:
        """Cancel the run and start nothing again (another project, none, or the end of the program)."""
        self._restart = None
        if self._run is not None:
            self._run.forgotten = True
        self.cancel()
        self.sig_forgotten.emit()

    def _start_colorize(self, request: RunRequest) -> None:
        if not self._can_run():
            return
        if not self._workspace.project.exemplars:
            self.sig_error.emit("There is no exemplar yet; add one at a frame (Ctrl+E) before colorizing.")
            return
        self._run = Run("colorize", request, threading.Event())
        self._colorize.emit(request, self._run.cancel)

    def _can_run(self) -> bool:
        if self._workspace.video_info is None:
            self.sig_error.emit("No video is open; open a video first.")
            return False
        if self._run is not None:
            self.sig_error.emit("A run is already going on; wait for it or cancel it first.")
            return False
        if self._engine.model_state == "missing":
            self._engine.explain_missing()
            return False
        return True

    # -- the worker's answers ----------------------------------------------------------------------------------

    def on_run_started(self, kind: str, total: int) -> None:
        """The worker started a run that colorizes ``total`` frames."""
        run = self._run
        if run is not None and run.forgotten:
            return  # asked for by the project before, and stopped at once: nothing to show
        if run is not None and isinstance(run.request, RunRequest) and not total:  # it ends at once: say why
            run.end_note = colorized_already(run.request, self._workspace)
        self.sig_progress.emit(self._meter.start(total))
        self.sig_run_started.emit(kind)

    def on_steps(self, done: int, total: int) -> None:
        """The session computed ``done`` of the ``total`` steps of the run: the progress moves while the frames that
        only lead up to the range (the pre-roll) are computed, when no frame comes."""
        if self._run is not None and not self._run.cancel.is_set() and not self._run.forgotten:
            self.sig_progress.emit(self._meter.step(done, total))

    def on_frame(self, frame: ColorizedFrame) -> None:
        """The worker colorized and cached a frame."""
        live = self._run is not None and not self._run.cancel.is_set()
        if live:
            self.sig_progress.emit(self._meter.update(frame.done, frame.total))
            if frame.notice:
                self.run_notice = frame.notice  # restated when the run ends: the status note alone goes by unseen
                self.sig_status.emit(frame.notice)
        self.sig_frame.emit(frame, live)

    def on_run_finished(self, kind: str, cancelled: bool, error: str) -> None:
        """The worker ended a run (``error``: why it failed, "" when it did not)."""
        run, self._run = self._run, None
        self.run_failed = bool(error)
        self.run_forgotten = run is not None and run.forgotten
        self.run_end_note = run.end_note if run is not None and not (cancelled or error) else ""
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


def colorized_already(request: RunRequest, workspace: Workspace) -> str:
    """The note that every frame ``request`` asks for is colorized already: its frames as the open project knows
    them (:meth:`RunRequest.frames_in`, as the session's :meth:`RunRequest.span`)."""
    count = workspace.frame_count
    i = workspace.segment_index_at(request.frame)
    segment = None if i is None else (workspace.segments[i].start, workspace.segments[i].stop)
    start, stop = request.frames_in(count, segment, workspace.project.shots or [])  # no shots known: one shot
    if start <= 0 and stop >= count:
        return "Every frame is colorized already."
    if stop - start == 1:
        return f"Frame {start} is colorized already."
    return f"Frames {start}–{stop - 1} are colorized already."
