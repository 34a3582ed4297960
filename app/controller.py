"""The controller: owns the project, the frame cache, the session worker and the frame loader.

Views call its methods and subscribe to its ``sig_*`` signals; they never touch a thread. The session lives on the
worker's thread and the controller only queues jobs to it, so the GUI thread never waits for the model. Exemplar
edits change the project at once and are handed to the session in order; frames stay valid while the key of their
segment is unchanged, so an edit invalidates only the segments the edited exemplar governs.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from app.engine_settings import CHECKPOINT_ENGINE, ENGINES, FALLBACK_ENGINE, FALLBACK_NOTICE, EngineSettings
from app.frame_cache import FrameCache, remove_cache_folder
from app.frame_loader import FrameLoader, FrameRequest, LoadedFrame
from app.jobs import ExemplarSpec, OpenRequest, RunRequest, SegmentInfo
from app.paths import AppPaths
from app.progress import RunMeter
from app.project import Project, ProjectError
from app.project_edits import PendingEdit, ProjectEdits
from app.project_file import outside_notice, quoted
from app.run_control import Run, RunControl
from app.session_worker import SessionWorker
from app.settings import AppSettings
from app.shot_edits import ShotEdits
from app.shots_worker import ShotDetection
from app.undo import ProjectHistory
from app.weights_download import WeightsDownload
from app.worker import WorkerThread

if TYPE_CHECKING:
    from colormnet.video import VideoInfo

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _PendingOpen:
    """A project waiting for its video to open before it replaces the current one."""

    project: Project
    cache: FrameCache
    source: Path | None  # what the user opened, for Recent files (None for a restored autosave or the demo)


def _discard_empty_scratch(project: Project, scratch: Path) -> None:
    """Remove the scratch folder made for ``project`` if nothing was put in it (its video failed to open)."""
    if project.path is None and project.files_dir.resolve().is_relative_to(scratch.resolve()):
        with contextlib.suppress(OSError):
            project.files_dir.rmdir()  # only when empty


class Controller(QObject, ProjectEdits, RunControl, ShotEdits):
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
    sig_model_state = Signal(str)
    """The model's state changed: idle, loading, ready, missing or failed."""
    sig_weights_missing = Signal(str)
    """The checkpoint is missing or unusable; carries the one-sentence reason."""
    sig_run_started = Signal(str)
    """A colorize or export run started (its kind)."""
    sig_progress = Signal(object)
    """Progress of the current run; carries a Progress."""
    sig_run_finished = Signal(str, bool)
    """A run ended: its kind and whether it was cancelled."""
    sig_export_progress = Signal(int, int)
    """Frames written and frames to write during an export."""
    sig_export_finished = Signal(bool, str)
    """An export ended: whether the file was written, and the path or the reason it was not."""
    sig_edit_finished = Signal(bool)
    """An exemplar add or replace (which waits for its image to be checked) ended: whether it was applied."""
    sig_file_opened = Signal(object)
    """A video, image folder or project file that the user opened is now the open project; carries its path."""
    sig_error = Signal(str)
    """Something the user asked for failed; carries a one-sentence message."""
    sig_status = Signal(str)
    """A short note for the status bar."""
    sig_follow_changed = Signal(bool)
    """Following the colorized frames with the playhead was turned on or off."""
    sig_shots_changed = Signal()
    """The shot list or where a shot's colours come from changed (see :meth:`shot_states`)."""
    sig_resolved_kinds = Signal(object)
    """What each ``auto`` exemplar is used as: its frame -> (keyframe or reference, luminance similarity)."""
    sig_shot_progress = Signal(int, int)
    """Finding the shots: frames read and frames in the video; (-1, 0) when it ended."""

    _sig_worker_open = Signal(object)
    _sig_worker_exemplars = Signal(object)
    _sig_worker_shots = Signal(object)
    _sig_worker_load_model = Signal()
    _sig_worker_colorize = Signal(object, object)
    _sig_worker_export = Signal(object, object)
    _sig_worker_warm_up = Signal()
    _sig_loader_open = Signal(int, str, object)
    _sig_loader_close = Signal()
    _sig_loader_check = Signal(int, str)

    def __init__(self, settings: AppSettings, paths: AppPaths, *, weights: Path | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.paths = paths
        self.project = Project.scratch(paths.scratch)
        self.project.settings = settings.engine_settings()
        self.cache: FrameCache | None = None
        self.video_info: VideoInfo | None = None
        self.segments: list[SegmentInfo] = []
        self.colorized = np.zeros(0, dtype=bool)
        self.current_frame = 0
        self.model_state = "idle"
        self.device = ""
        self.weights_are_random = False
        self.precision = ""  # what the model computes in, e.g. "bf16 preview · fp32 export" ("" until loaded)
        self.engine_ready = False
        self.available_engines = [CHECKPOINT_ENGINE]  # until the library says which it has
        self.model_problem = ""
        self.fallback_active = False  # the ColorMNet checkpoint is unusable: FALLBACK_ENGINE stands in for it
        self.follow_playhead = settings.follow_playhead
        self._weights_override = weights
        self._run: Run | None = None
        self.run_notice = ""  # what the user must be told about the current or last run (see RunControl)
        self._restart: RunRequest | None = None
        self._meter = RunMeter()
        self._shut_down = False
        self._pending_edits: dict[int, PendingEdit] = {}
        self._opening: dict[int, _PendingOpen] = {}  # open requests the frame loader has not answered, by token
        self._open_token = 0
        self.history = ProjectHistory(self._on_history_restored, self)
        self.history.sig_dirty_changed.connect(self._on_history_dirty_changed)
        self.history.reset(self.project)
        self._start_threads()

    # -- threads -----------------------------------------------------------------------------------------------

    def _start_threads(self) -> None:
        worker = SessionWorker()
        worker.sig_engine_ready.connect(self._on_worker_engine_ready)
        worker.sig_opened.connect(self._on_worker_opened)
        worker.sig_segments.connect(self._on_worker_segments)
        worker.sig_model_loaded.connect(self._on_worker_model_loaded)
        worker.sig_model_failed.connect(self._on_worker_model_failed)
        worker.sig_run_started.connect(self._on_worker_run_started)
        worker.sig_frame.connect(self._on_worker_frame)
        worker.sig_export_progress.connect(self.sig_export_progress)
        worker.sig_run_finished.connect(self._on_worker_run_finished)
        worker.sig_error.connect(self.sig_error)
        worker.sig_shot_sources.connect(self._on_worker_shot_sources)
        worker.sig_resolved_kinds.connect(self.sig_resolved_kinds)
        self._sig_worker_shots.connect(worker.set_shots)
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
        loader.sig_opened.connect(self._on_loader_opened)
        loader.sig_open_failed.connect(self._on_loader_open_failed)
        loader.sig_exemplar_checked.connect(self._on_image_checked)
        self._sig_loader_open.connect(loader.open)
        self._sig_loader_close.connect(loader.close)
        self._sig_loader_check.connect(loader.check_exemplar)
        self._loader = loader
        self._loader_thread = WorkerThread(loader, "colormnet-frames")
        self.download = WeightsDownload()
        self.download.sig_finished.connect(self._on_download_finished)
        self.shot_detection = ShotDetection()
        self._connect_shot_detection()
        self._sig_worker_warm_up.emit()  # import torch in the background right away

    def shutdown(self) -> None:
        """Cancel what runs and stop every thread (before the application quits; later calls do nothing)."""
        if self._shut_down:
            return
        self._shut_down = True
        self._restart = None
        cancel = self._run.cancel.set if self._run is not None else None
        self._session_thread.stop(cancel)
        self._session_worker.close()  # safe: its thread has finished
        self._loader_thread.stop()
        self._loader.close()
        self.shot_detection.shutdown()
        self.download.shutdown()
        self.history.close()
        self._run = None

    def discard_unsaved_files(self) -> None:
        """After :meth:`shutdown`: delete the scratch folder and frame cache of a project that was never saved."""
        project = self.project
        if project.path is not None or not self._shut_down:
            return
        if project.files_dir.resolve().is_relative_to(self.paths.scratch.resolve()):
            shutil.rmtree(project.files_dir, ignore_errors=True)
        with contextlib.suppress(ValueError):  # an id that is not a plain folder name has no cache to delete
            remove_cache_folder(self.paths.cache, project.project_id)

    # -- opening -----------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a colorize or export run is going on."""
        return self._run is not None

    @property
    def frame_count(self) -> int:
        """Frames of the open video (0 when none is open)."""
        return int(self.colorized.size)

    def open_video(self, path: str | Path) -> None:
        """Start a new project on a video file or image-sequence folder (the answer comes as a signal).

        The current project stays until the video has opened (``sig_video_opened``, then ``sig_file_opened``); when
        it cannot be opened, ``sig_error`` says why and the current project is left exactly as it was.
        """
        project = Project.scratch(self.paths.scratch)
        project.settings = self.settings.engine_settings()
        project.video = Path(path).resolve()
        self._request_open(project, source=Path(path))

    def open_project(self, path: str | Path) -> bool:
        """Open a ``.cmnproj`` file; False (and a message) when it cannot be read.

        True means its video is being opened: as with :meth:`open_video`, the project replaces the current one only
        once its video has opened, and a video that cannot be opened leaves the current project as it was.
        """
        try:
            project = Project.load(path)
        except ProjectError as exc:
            self.sig_error.emit(str(exc))
            return False
        except Exception as exc:  # a bug must reach the user as one message, and the open project stays
            logger.exception("opening the project %s failed", path)
            self.sig_error.emit(
                f"The project file {quoted(Path(path).name)} cannot be opened ({exc!r:.120}); see the log file."
            )
            return False
        if project.video is None or not project.video.exists():
            video = quoted(project.video)
            self.sig_error.emit(f"The project's video {video} is missing; move it back or open the video.")
            return False
        self._request_open(project, source=Path(path))
        return True

    def adopt_project(self, project: Project) -> None:
        """Make ``project`` (for example a restored autosave) the current one once its video has opened."""
        self._request_open(project, source=None)

    @property
    def opening(self) -> bool:
        """Whether a video asked for is still being opened (the current project stays until it has)."""
        return bool(self._opening)

    def _request_open(self, project: Project, *, source: Path | None) -> None:
        """Ask the frame loader to open ``project``'s video; the project is adopted only when that succeeds.

        Args:
            project: The project to adopt (one without a video is adopted at once).
            source: What the user opened (video, folder or project file), announced for Recent files on success.
        """
        cache = FrameCache(self.paths.cache, project.project_id, limit_bytes=self.settings.cache_limit_bytes)
        if project.video is None:
            self._sig_loader_close.emit()
            self._adopt_project(project, cache)
            return
        self._open_token += 1
        self._opening[self._open_token] = _PendingOpen(project, cache, source)
        self.sig_status.emit(f"Opening {project.video.name}…")
        self._sig_loader_open.emit(self._open_token, str(project.video), cache)

    def _adopt_project(self, project: Project, cache: FrameCache) -> None:
        self.cancel()
        self._restart = None
        self._pending_edits.clear()
        self.shot_detection.forget()
        self.project = project
        self.history.reset(project)
        self.cache = cache
        self.video_info = None
        self.segments = []
        self.colorized = np.zeros(0, dtype=bool)
        self.current_frame = 0
        self.sig_project_changed.emit()

    def _on_loader_opened(self, token: int, info: VideoInfo) -> None:
        pending = self._opening.pop(token, None)
        if pending is None:  # not asked for by this controller (cannot happen; the loader is ours alone)
            logger.error("the frame loader opened %s, which no one asked for", info.path)
            return
        self._adopt_project(pending.project, pending.cache)
        self.video_info = info
        count = info.frame_count
        self.project.frame_count = count
        self.colorized = np.zeros(count, dtype=bool)
        self.current_frame = min(max(0, self.project.playhead), max(0, count - 1))
        self.sig_video_opened.emit(info)
        self.sig_current_frame_changed.emit(self.current_frame)
        if pending.source is not None:
            self.sig_file_opened.emit(pending.source)
        if self.project.left_out:  # told once, now that the project is open
            self.sig_error.emit(outside_notice(self.project.left_out))
            self.project.left_out = []
        self._request_frame()
        self._shots_for_opened_video()  # before the session opens: it takes the shots then
        self._open_session()

    def _on_loader_open_failed(self, token: int, message: str) -> None:
        pending = self._opening.pop(token, None)
        if pending is not None:
            _discard_empty_scratch(pending.project, self.paths.scratch)
        self.sig_status.emit("")  # no longer "Opening …"
        self.sig_error.emit(message)

    def _open_session(self) -> None:
        if self.project.video is None or self.cache is None or self.video_info is None:
            return
        self.cancel()
        self._set_model_state("loading")
        self._sig_worker_exemplars.emit(self._specs())
        self._sig_worker_open.emit(
            OpenRequest(self.project.video, self._session_weights(), self._session_settings(), self.cache)
        )
        self._sig_worker_load_model.emit()

    def weights_path(self) -> Path | None:
        """The checkpoint to use: the command line's, else the one in the settings, else the library's default."""
        return self._weights_override or self.settings.weights_path

    @property
    def session_engine(self) -> str:
        """The engine the session runs: the project's, or the fallback standing in for a missing checkpoint."""
        engine = self.project.settings.engine
        return FALLBACK_ENGINE if self.fallback_active and engine == CHECKPOINT_ENGINE else engine

    @property
    def on_fallback(self) -> bool:
        """Whether the fallback engine stands in for ColorMNet in the open session."""
        return self.session_engine != self.project.settings.engine

    def _session_settings(self) -> EngineSettings:
        """The project's settings with the engine that really runs (the project itself keeps the user's choice)."""
        return replace(self.project.settings, engine=self.session_engine)

    def _session_weights(self) -> Path | None:
        """What the session gets as weights: the ColorMNet checkpoint, or None (other engines find their own)."""
        return self.weights_path() if self.session_engine == CHECKPOINT_ENGINE else None

    def set_weights_path(self, path: Path) -> None:
        """Use the checkpoint at ``path`` from now on (remembered in the settings); ColorMNet runs again."""
        self._weights_override = None
        self.settings.weights_path = Path(path)
        self.fallback_active = False
        self._open_session()

    def use_fallback_engine(self, reason: str) -> bool:
        """Let the weights-free engine stand in for ColorMNet, whose checkpoint is missing or unusable.

        The session reopens on :data:`FALLBACK_ENGINE` (its frames are cached under its own keys); the project's
        and the saved engine setting stay ColorMNet, and locating or downloading a checkpoint switches back.

        Args:
            reason: Why the checkpoint cannot be used (shown in the weights dialog).

        Returns:
            False when this installation lacks the fallback engine (nothing changes). Before the library has said
            which engines it has, the caller is trusted (the demo asks the library itself).
        """
        if self.engine_ready and FALLBACK_ENGINE not in self.available_engines:
            return False
        logger.info("no usable ColorMNet checkpoint (%s): %s stands in", reason, FALLBACK_ENGINE)
        self.fallback_active = True
        self.model_problem = reason
        self.sig_weights_missing.emit(reason)  # still offer to download or locate the checkpoint
        self._open_session()
        return True

    # -- playhead ----------------------------------------------------------------------------------------------

    def set_current_frame(self, index: int) -> None:
        """Move the playhead (clamped to the video) and load that frame."""
        if self.frame_count == 0:
            return
        index = min(max(0, int(index)), self.frame_count - 1)
        if index == self.current_frame:
            return
        self.current_frame = index
        self.project.playhead = index
        self.sig_current_frame_changed.emit(index)
        self._request_frame()

    def navigate(self, index: int) -> None:
        """Move the playhead as the user asked; during a run this stops the playhead following the new frames."""
        if self.busy and self.follow_playhead and self.frame_count:
            self.set_follow_playhead(False, remember=False)
            self.sig_status.emit("Follow Playhead is off: you moved the playhead. Press F to follow again.")
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

    def segment_index_at(self, frame: int) -> int | None:
        """Index into :attr:`segments` of the segment holding ``frame``."""
        starts = [s.start for s in self.segments]
        i = bisect.bisect_right(starts, frame) - 1
        if 0 <= i < len(self.segments) and frame < self.segments[i].stop:
            return i
        return None

    def key_at(self, frame: int) -> str:
        """Cache key of the segment holding ``frame`` ("" when there is none)."""
        i = self.segment_index_at(frame)
        return self.segments[i].key if i is not None else ""

    def _request_frame(self) -> None:
        self._loader.request(FrameRequest(self.current_frame, self.key_at(self.current_frame)))

    def _on_loader_loaded(self, frame: LoadedFrame) -> None:
        if frame.index != self.current_frame:
            return  # a newer request is on its way
        if frame.key != self.key_at(frame.index):
            self._request_frame()  # the segments changed meanwhile
            return
        gray = frame.gray
        source = QImage(gray.data, gray.shape[1], gray.shape[0], gray.strides[0], QImage.Format.Format_Grayscale8)
        colour = None
        if frame.color is not None:
            rgb = np.ascontiguousarray(frame.color)
            colour = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format.Format_RGB888).copy()
        self.sig_frame_shown.emit(frame.index, source.copy(), colour)

    def _on_loader_failed(self, index: int, message: str) -> None:
        self.sig_error.emit(message)

    # -- worker state ------------------------------------------------------------------------------------------

    def _on_worker_engine_ready(self, engines: list[str]) -> None:
        self.engine_ready = True
        self.available_engines = [name for name in engines if name in ENGINES] or [CHECKPOINT_ENGINE]
        if self.fallback_active and FALLBACK_ENGINE not in self.available_engines:
            self.fallback_active = False  # asked for before the engines were known; ColorMNet explains itself
            self._open_session()
        self.sig_status.emit("Colorization engine ready.")

    def _on_worker_opened(self, info: object) -> None:
        logger.info("session open on %s", getattr(info, "path", info))

    def _on_worker_segments(self, segments: list[SegmentInfo]) -> None:
        self.segments = sorted(segments, key=lambda s: s.start)
        self.colorized[:] = False
        if self.cache is not None:
            for segment in self.segments:
                if segment.key:
                    cached = [i for i in self.cache.frames(segment.key) if segment.start <= i < segment.stop]
                    self.colorized[cached] = True
        self.sig_segments_changed.emit()
        self.sig_colorized_changed.emit()
        self._request_frame()

    def _on_worker_model_loaded(self, device: str, random: bool, precision: str = "") -> None:
        self.device = device
        self.precision = precision
        self.weights_are_random = random
        self._set_model_state("ready")
        if self.on_fallback:
            self.sig_status.emit(FALLBACK_NOTICE)
        elif random:
            self.sig_status.emit("These weights are random: the colours are meaningless (pipeline check only).")

    def _on_worker_model_failed(self, message: str, weights_problem: bool) -> None:
        checkpoint = weights_problem and self.project.settings.engine == CHECKPOINT_ENGINE
        if checkpoint and self.fallback_active:
            return  # a late answer of the ColorMNet session that the fallback has replaced
        self._restart = None
        run = self._run
        if checkpoint and self.use_fallback_engine(message):
            if run is not None and isinstance(run.request, RunRequest):
                self._restart = run.request  # the colorize run that needed the model goes on with the fallback
            return
        self.model_problem = message
        self._set_model_state("missing" if weights_problem else "failed")
        if weights_problem and self.project.settings.engine == CHECKPOINT_ENGINE:
            self.sig_weights_missing.emit(message)  # the app can download or locate this checkpoint
        else:
            self.sig_error.emit(message)

    def _set_model_state(self, state: str) -> None:
        self.model_state = state
        self.sig_model_state.emit(state)

    # -- exemplars (see ProjectEdits) --------------------------------------------------------------------------

    def _request_image_check(self, token: int, path: Path) -> None:
        self._sig_loader_check.emit(token, str(path))

    def _specs(self) -> list[ExemplarSpec]:
        return [ExemplarSpec(e.frame, e.image, e.kind, e.name, tuple(e.references)) for e in self.project.exemplars]

    def _on_history_dirty_changed(self, dirty: bool) -> None:
        self.sig_project_changed.emit()

    def _on_history_restored(self, exemplars_changed: bool) -> None:
        """An undo or redo changed the project."""
        if exemplars_changed:
            self._exemplars_changed()
        else:
            self.sig_project_changed.emit()
        if self.project.shots != self._session_shots:
            self._shots_edited()

    def _exemplars_changed(self) -> None:
        """Hand the edited exemplar list to the session; a run in progress restarts on the new segments."""
        self.sig_project_changed.emit()
        self._restart_run()
        self._sig_worker_exemplars.emit(self._specs())

    def _restart_run(self) -> None:
        """A colorize run in progress stops and starts again on the new segments."""
        run = self._run
        if run is not None and isinstance(run.request, RunRequest) and not run.cancel.is_set():
            self._restart = run.request
            run.cancel.set()

    def _on_download_finished(self, ok: bool, path: str) -> None:
        if ok:
            self.set_weights_path(Path(path))
