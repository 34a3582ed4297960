"""The controller: a thin owner of the workspace, the worker threads and the objects that each do one job.

Views call its parts and subscribe to their ``sig_*`` signals; they never touch a thread::

    Controller            the workspace, the playhead, the frame shown; wires the parts to the two threads
      workspace           Workspace (Qt-free): project, frame cache, VideoInfo, segments, colorized frames, playhead
      files               ProjectFiles: open a video/folder/project/autosave (adopted once its video opens), save, close
      edits               ProjectEdits: exemplars, references, In/Out, engine settings; one undo step each
      shot_edits          ShotEdits: shot detection, cuts, where each shot's colours come from
      engine              EngineChoice: the engine that runs (fallback, step down), the model's state, auto's kinds
      runs                RunControl: colorize and export runs, their progress and restarts
      history, download   ProjectHistory (undo), WeightsDownload

The session lives on the session worker's thread and the frame loader on its own; the controller only queues jobs
to them, so the GUI thread never waits for the model. A colorized frame reaches the viewer from memory: the worker
sends the frame it cached, and the loader only decodes the source frame under it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.engine_choice import EngineChoice
from app.frame_loader import FrameLoader, FrameRequest, LoadedFrame, to_rgb8
from app.jobs import ColorizedFrame, ExemplarSpec, OpenRequest, SegmentInfo
from app.model.project_file import outside_notice
from app.model.workspace import Workspace
from app.project_edits import ProjectEdits
from app.project_files import PendingOpen, ProjectFiles, scratch_project
from app.run_control import RunControl
from app.session_worker import SessionWorker
from app.shot_edits import ShotEdits
from app.undo import ProjectHistory
from app.weights_download import WeightsDownload
from app.worker import WorkerThread
from colormnet.video.orientation import to_display

if TYPE_CHECKING:
    from app.model.frame_cache import FrameCache
    from app.model.paths import AppPaths
    from app.model.project import Project
    from app.settings import AppSettings
    from colormnet.video import VideoInfo

logger = logging.getLogger(__name__)


class Controller(QObject):
    """Application state and the one place that talks to the worker threads.

    Args:
        settings: The persisted settings.
        paths: Where scratch projects, caches and autosaves go.
        weights: A checkpoint given on the command line (overrides the settings).
    """

    sig_video_opened = Signal(object)
    """A video is open; carries its VideoInfo."""
    sig_project_changed = Signal()
    """The project changed: exemplars, in/out points, settings, path or the unsaved-changes mark."""
    sig_segments_changed = Signal()
    """The session's segments changed."""
    sig_colorized_changed = Signal()
    """Which frames are colorized (cached) changed."""
    sig_current_frame_changed = Signal(int)
    """The playhead moved."""
    sig_frame_shown = Signal(int, object, object)
    """The frame under the playhead is ready: index, source QImage (grayscale), colorized QImage or None."""
    sig_follow_changed = Signal(bool)
    """Following the colorized frames with the playhead was turned on or off."""
    sig_error = Signal(str)
    """Something the user asked for failed (in any part); carries a one-sentence message."""
    sig_status = Signal(str)
    """A short note for the status bar (from any part)."""

    _sig_worker_open = Signal(object)
    _sig_worker_exemplars = Signal(object)
    _sig_worker_load_model = Signal()
    _sig_worker_colorize = Signal(object, object)
    _sig_worker_export = Signal(object, object)
    _sig_worker_warm_up = Signal()

    def __init__(self, settings: AppSettings, paths: AppPaths, *, weights: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.paths = paths
        self.follow_playhead = settings.follow_playhead
        self._shut_down = False
        self._source: LoadedFrame | None = None  # the source frame last shown (its colour may come from a run)
        self._fresh: ColorizedFrame | None = None  # the frame a run delivered last, kept for the viewer
        self.history = ProjectHistory(self._on_history_restored, self)
        self.workspace = Workspace(scratch_project(settings, paths))
        self.files = ProjectFiles(self.workspace, self.history, settings, paths)
        self.engine = EngineChoice(self.workspace, settings, weights=weights)
        self.edits = ProjectEdits(self.workspace, self.history, settings)
        self.shot_edits = ShotEdits(self.workspace, self.history)
        self.runs = RunControl(self.workspace, self.engine, self._sig_worker_colorize, self._sig_worker_export)
        self.download = WeightsDownload()
        self.history.sig_dirty_changed.connect(self.sig_project_changed)
        self.history.reset(self.project)
        self._connect_parts()
        self._start_threads()

    # -- wiring ------------------------------------------------------------------------------------------------

    def _connect_parts(self) -> None:
        for part in (self.files, self.edits, self.shot_edits, self.engine, self.runs):
            part.sig_error.connect(self.sig_error)
        for part in (self.files, self.shot_edits, self.engine, self.runs):
            part.sig_status.connect(self.sig_status)
        self.files.sig_opened.connect(self._on_files_opened)
        self.files.sig_adopt.connect(self._adopt)
        self.files.sig_saved.connect(self._on_files_saved)
        self.edits.sig_exemplars_changed.connect(self._exemplars_changed)
        self.edits.sig_project_changed.connect(self.sig_project_changed)
        self.edits.sig_settings_changed.connect(self._on_edits_settings_changed)
        self.shot_edits.sig_cuts_changed.connect(self.runs.restart)
        self.shot_edits.sig_navigate.connect(self.navigate)
        self.engine.sig_reopen.connect(self._open_session)
        self.runs.sig_frame.connect(self._on_runs_frame)
        self.download.sig_finished.connect(self._on_download_finished)

    def _start_threads(self) -> None:
        worker = SessionWorker()
        worker.sig_engine_ready.connect(self.engine.engines_known)
        worker.sig_segments.connect(self._on_worker_segments)
        worker.sig_model_loaded.connect(self.engine.model_loaded)
        worker.sig_model_failed.connect(self._on_worker_model_failed)
        worker.sig_stepped_down.connect(self.engine.stepped_down)
        worker.sig_run_started.connect(self.runs.on_run_started)
        worker.sig_frame.connect(self.runs.on_frame)
        worker.sig_steps.connect(self.runs.on_steps)
        worker.sig_export_progress.connect(self.runs.sig_export_progress)
        worker.sig_run_finished.connect(self.runs.on_run_finished)
        worker.sig_error.connect(self.sig_error)
        worker.sig_shot_sources.connect(self.shot_edits.on_shot_sources)
        worker.sig_resolved_kinds.connect(self.engine.sig_resolved_kinds)
        self.shot_edits.sig_send_shots.connect(worker.set_shots)
        self.files.sig_close_video.connect(worker.close)  # a closed project's model and video are let go
        self._sig_worker_open.connect(worker.open)
        self._sig_worker_exemplars.connect(worker.set_exemplars)
        self._sig_worker_load_model.connect(worker.load_model)
        self._sig_worker_colorize.connect(worker.colorize)
        self._sig_worker_export.connect(worker.export)
        self._sig_worker_warm_up.connect(worker.warm_up)
        self._session_worker = worker
        self._session_thread = WorkerThread(worker, "colormnet-session")

        loader = FrameLoader()
        loader.sig_loaded.connect(self._on_loader_loaded)
        loader.sig_failed.connect(self._on_loader_failed)
        loader.sig_opened.connect(self.files.on_video_opened)
        loader.sig_open_failed.connect(self.files.on_video_open_failed)
        loader.sig_exemplar_checked.connect(self.edits.on_image_checked)
        self.files.sig_open_video.connect(loader.open)
        self.files.sig_close_video.connect(loader.close)
        self.edits.sig_check_image.connect(loader.check_exemplar)
        self._loader = loader
        self._loader_thread = WorkerThread(loader, "colormnet-frames")
        self._sig_worker_warm_up.emit()  # import torch in the background right away

    def shutdown(self) -> None:
        """Cancel what runs and stop every thread (before the application quits; later calls do nothing)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.files.close()
        self.runs.forget()
        self._session_thread.stop(self.runs.cancel)
        self._session_worker.close()  # safe: its thread has finished
        self._loader_thread.stop()
        self._loader.close()
        self.shot_edits.detection.shutdown()
        self.download.shutdown()
        self.history.close()

    # -- what the views read -----------------------------------------------------------------------------------

    @property
    def project(self) -> Project:
        """The open project."""
        return self.workspace.project

    @property
    def cache(self) -> FrameCache | None:
        """The open project's frame cache."""
        return self.workspace.cache

    @property
    def video_info(self) -> VideoInfo | None:
        """The open video (None while none is open)."""
        return self.workspace.video_info

    @property
    def segments(self) -> list[SegmentInfo]:
        """The session's segments, in frame order."""
        return self.workspace.segments

    @property
    def colorized(self) -> np.ndarray:
        """Per frame, whether it is colorized under a current key of its segment."""
        return self.workspace.colorized

    @property
    def current_frame(self) -> int:
        """The playhead."""
        return self.workspace.current_frame

    @property
    def frame_count(self) -> int:
        """Frames of the open video (0 when none is open)."""
        return self.workspace.frame_count

    # -- opening -----------------------------------------------------------------------------------------------

    def _adopt(self, project: Project, cache: FrameCache) -> None:
        self.runs.forget()
        self.edits.forget()
        self.shot_edits.forget()
        self.workspace.adopt(project, cache)
        self.history.reset(project)
        self._source = self._fresh = None
        if project.video is None:
            self.engine.closed()
            self.sig_colorized_changed.emit()  # none: a closed project's must not stay on screen
        self.sig_project_changed.emit()

    def _on_files_opened(self, pending: PendingOpen, info: VideoInfo) -> None:
        self._adopt(pending.project, pending.cache)
        self.workspace.video_opened(info)
        self.sig_colorized_changed.emit()  # none yet: the project before's must not show until the session answers
        self.sig_video_opened.emit(info)
        self.sig_current_frame_changed.emit(self.current_frame)
        if self.project.left_out:  # told once, now that the project is open
            self.sig_error.emit(outside_notice(self.project.left_out))
            self.project.left_out = []
        self._request_frame()
        self.shot_edits.video_opened()  # before the session opens: it takes the shots then
        self._open_session()

    def _open_session(self) -> None:
        if self.project.video is None or self.cache is None or self.video_info is None:
            return
        self.runs.cancel()
        self.engine.loading()
        self._sig_worker_open.emit(OpenRequest(self.project.video, self.engine.session_weights(),
                                               self.engine.session_settings(), self.cache, tuple(self._specs()),
                                               *self.shot_edits.for_session()))
        self._sig_worker_load_model.emit()

    def _on_files_saved(self) -> None:
        self._sig_worker_exemplars.emit(self._specs())  # the images now live next to the project
        self.sig_project_changed.emit()

    def _on_edits_settings_changed(self) -> None:
        self.sig_project_changed.emit()
        self._open_session()

    def _on_download_finished(self, ok: bool, path: str) -> None:
        if ok:
            self.engine.set_weights_path(Path(path))

    # -- playhead ----------------------------------------------------------------------------------------------

    def set_current_frame(self, index: int) -> None:
        """Move the playhead (clamped to the video) and load that frame."""
        if self.frame_count == 0:
            return
        index = min(max(0, int(index)), self.frame_count - 1)
        if index == self.current_frame:
            return
        self.workspace.current_frame = index
        self.project.playhead = index
        self.sig_current_frame_changed.emit(index)
        self._request_frame()

    def navigate(self, index: int) -> None:
        """Move the playhead as the user asked; during a run this stops the playhead following the new frames."""
        if self.runs.busy and self.follow_playhead and self.frame_count:
            self.set_follow_playhead(False, remember=False)
            self.sig_status.emit("Follow is off; F turns it on.")
        self.set_current_frame(index)

    def step(self, delta: int) -> None:
        """Move the playhead by ``delta`` frames (a user's move: see :meth:`navigate`)."""
        self.navigate(self.current_frame + delta)

    def set_follow_playhead(self, follow: bool, *, remember: bool = True) -> None:
        """Turn following the colorized frames on or off (``remember``: keep the choice in the settings)."""
        if remember:
            self.settings.follow_playhead = follow
        if follow != self.follow_playhead:
            self.follow_playhead = follow
            self.sig_follow_changed.emit(follow)

    def key_at(self, frame: int) -> str:
        """Cache key ``frame`` is shown from (see :meth:`Workspace.key_at`)."""
        return self.workspace.key_at(frame)

    # -- the frame shown ---------------------------------------------------------------------------------------

    def _fresh_colour(self, index: int) -> np.ndarray | None:
        """The colorized frame ``index`` as the last run delivered it (HxWx3 uint8, stored orientation), if current:
        under the key it is shown from, or, while an export runs, the export's frame (its own precision and key)."""
        fresh = self._fresh
        if fresh is None or fresh.index != index or not fresh.key:
            return None
        return fresh.rgb if fresh.key == self.key_at(index) or self.runs.exporting else None

    def _request_frame(self) -> None:
        index = self.current_frame
        source = self._source
        if source is not None and source.index == index and self._fresh_colour(index) is not None:
            self._show(source, self._fresh_colour(index))  # decoded already: nothing to read
            return
        with_colour = self._fresh_colour(index) is None  # else the colour comes from memory, not the cache
        self._ask(index, self.key_at(index), with_colour)

    def _ask(self, index: int, key: str, with_colour: bool = True) -> None:
        """Ask the loader for a frame of the open project's video (not of one it opens meanwhile)."""
        self._loader.request(FrameRequest(index, key, with_colour, str(self.project.video or "")))

    def _on_loader_loaded(self, frame: LoadedFrame) -> None:
        if frame.index != self.current_frame:
            return  # a newer request is on its way
        if frame.key != self.key_at(frame.index):
            self._request_frame()  # the segments changed meanwhile
            return
        self._source = frame
        colour = frame.color if frame.color is not None else self._fresh_colour(frame.index)
        if colour is None and not frame.with_colour and self.colorized[frame.index]:
            self._ask(frame.index, frame.key)  # the run moved on: read it from the cache
        self._show(frame, colour)

    def _show(self, frame: LoadedFrame, colour: np.ndarray | None) -> None:
        """Show the source of ``frame`` with ``colour`` (the loader's, upright, or a run's, in stored orientation)."""
        gray = frame.gray
        source = QImage(gray.data, gray.shape[1], gray.shape[0], gray.strides[0], QImage.Format.Format_Grayscale8)
        shown = None
        if colour is not None:
            if frame.color is None and self.video_info is not None:  # a run's frame: turned for display here
                colour = to_display(to_rgb8(colour), self.video_info.rotation)
            rgb = np.ascontiguousarray(colour)
            shown = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
        self.sig_frame_shown.emit(frame.index, source.copy(), shown)

    def _on_loader_failed(self, index: int, message: str) -> None:
        self.sig_error.emit(message)

    def _on_runs_frame(self, frame: ColorizedFrame, live: bool) -> None:
        if self.workspace.mark_colorized(frame.index, frame.key):
            self.sig_colorized_changed.emit()
        self._fresh = frame
        if not live:
            return
        if self.follow_playhead:
            self.set_current_frame(frame.index)
        if frame.index == self.current_frame:
            self._request_frame()

    # -- the session's answers ---------------------------------------------------------------------------------

    def _on_worker_segments(self, segments: list[SegmentInfo]) -> None:
        self.workspace.set_segments(segments)
        self.sig_segments_changed.emit()
        self.sig_colorized_changed.emit()
        self._request_frame()

    def _on_worker_model_failed(self, message: str, weights_problem: bool) -> None:
        outcome = self.engine.model_failed(message, weights_problem)
        if outcome != "late":
            self.runs.model_failed(fallback=outcome == "fallback")

    # -- exemplars and history ---------------------------------------------------------------------------------

    def _specs(self) -> list[ExemplarSpec]:
        return [ExemplarSpec(e.frame, e.image, e.kind, e.name, tuple(e.references)) for e in self.project.exemplars]

    def _exemplars_changed(self) -> None:
        """Hand the edited exemplars, and the links that followed them, to the session; a run restarts on them."""
        self.sig_project_changed.emit()
        self.runs.restart()
        self._sig_worker_exemplars.emit(self._specs())
        if self.shot_edits.session_shots_stale:
            self.shot_edits.shots_edited()

    def _on_history_restored(self, exemplars_changed: bool) -> None:
        """An undo or redo changed the project."""
        if exemplars_changed:
            self._exemplars_changed()
            return
        self.sig_project_changed.emit()
        if self.shot_edits.session_shots_stale:
            self.shot_edits.shots_edited()
