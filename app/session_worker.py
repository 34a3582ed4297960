"""The worker that owns the colorization session and drains its generator on a QThread.

Previews and exports may run at different precisions (``auto`` previews in bf16 on a CPU that computes it natively,
and exports in fp32): an export then uses a second session on the same video and exemplars, whose cache keys hold
its own precision, so no preview frame is shipped in an export; the frames it rendered count as colorized and are
shown in place of preview frames. Every call into :class:`colormnet.session.Session` happens on this worker's
thread, one job at a time, in the order the controller queued them: open, set exemplars, load the model, colorize,
export. A job that runs long (colorize, export) checks a ``threading.Event`` that the controller sets from the GUI
thread; the session checks it before each frame, so a cancel takes effect within one frame. Each finished frame is
written to the frame cache here and then handed to the GUI as a signal; it becomes a QImage on the GUI thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from app.exemplar_images import ExemplarImages
from app.export_record import check_record, protected_inputs, write_record
from app.jobs import ColorizedFrame, ExemplarSpec, ExportJob, OpenRequest, RunRequest, SegmentInfo
from app.local_export import export_here
from app.model.engine_settings import describe_precision
from app.model.frame_cache import FrameCache
from app.session_config import session_config
from colormnet.errors import ColorMNetError

if TYPE_CHECKING:
    from colormnet.session import Session

logger = logging.getLogger(__name__)

_NO_MODEL = "The model is not available; install the ColorMNet weights and export again."


class SessionWorker(QObject):
    """Owns the :class:`~colormnet.session.Session`; lives on its own QThread."""

    sig_engine_ready = Signal(list, list)  # the engines this installation has, the devices this machine has
    """torch and the session module are imported; carries the names of the engines this installation has."""
    sig_opened = Signal(object)
    """The video opened; carries its VideoInfo."""
    sig_segments = Signal(object)
    """The segments changed; carries a list of SegmentInfo."""
    sig_model_loaded = Signal(str, bool, str)
    """The model is loaded: the device in use, whether the weights are random, and the precision (previews, exports)."""
    sig_stepped_down = Signal(str, str, str)
    """The GPU ran out of memory and the session carries on: the device and precision now, and the session's notice."""
    sig_model_failed = Signal(str, bool)
    """The model could not be loaded: a one-sentence message and whether the weights are the problem."""
    sig_run_started = Signal(str, int)
    """A colorize or export run started: its kind and the number of requested frames it will colorize."""
    sig_frame = Signal(object)
    """A frame was colorized and cached; carries a ColorizedFrame."""
    sig_steps = Signal(int, int)
    """Steps of the run computed and to compute, the frames that only lead up to the requested ones included."""
    sig_export_progress = Signal(int, int)
    """Frames written so far and the number to write."""
    sig_run_finished = Signal(str, bool, str)
    """A run ended: its kind, whether it was cancelled, and an error message ("" on success)."""
    sig_error = Signal(str)
    """A job outside a run failed (opening the video, reading an exemplar image)."""
    sig_resolved_kinds = Signal(object)
    """What each exemplar set to ``auto`` is used as: its frame -> (keyframe or reference, luminance similarity)."""
    sig_shot_sources = Signal(object)
    """Which exemplar each shot without its own borrows: a shot's first frame -> (exemplar frame, how chosen)."""

    def __init__(self) -> None:
        super().__init__()
        self._session: Session | None = None
        self._export_session: Session | None = None  # set while exports run at another precision than previews
        self._request: OpenRequest | None = None
        self._exemplars: list[Any] = []  # the colormnet.session.Exemplar list the session holds
        self._cache: FrameCache | None = None
        self._specs: list[ExemplarSpec] = []
        self._shots: list[Any] | None = None  # the shot list (None: the video is one shot)
        self._links: dict[int, int] = {}  # shot's first frame -> exemplar frame, chosen by hand
        self._segments: list[SegmentInfo] = []
        self._images = ExemplarImages()
        self._told: set[str] = set()  # why exemplars are left out, as last told (told again once fixed and broken)
        self._bit_depth = 8
        self._model_announced = False

    # -- jobs --------------------------------------------------------------------------------------------------

    @Slot()
    def warm_up(self) -> None:
        """Import torch and the session module, so the first real job does not wait for them."""
        try:
            import colormnet.engines.tensors  # torch: the session itself does not import it
            import colormnet.session  # noqa: F401
            from colormnet.engines import available_engines
            from colormnet.engines.precision import available_devices

            engines, devices = available_engines(), available_devices()
        except Exception as exc:
            logger.exception("cannot import the colorization engine")
            self.sig_error.emit(f"The colorization engine cannot start ({exc}); see the log file.")
            return
        self.sig_engine_ready.emit(engines, devices)

    @Slot(object)
    def open(self, request: OpenRequest) -> None:
        """Open a session on a video (closing the previous one) and apply the current exemplars."""
        from colormnet.session import Session

        self.close()
        self._specs = list(request.exemplars)
        self.set_shots(request.shots, dict(request.links))  # no session now: they wait for the one opening
        self._cache = request.cache
        self._cache.scan()  # index what earlier runs cached here, off the GUI thread
        try:
            self._session = Session(request.video, weights=request.weights,
                                    config=session_config(request.settings, preview=True))
            self._request = request
        except ColorMNetError as exc:
            self.sig_error.emit(str(exc))
            return
        except ValueError as exc:  # an invalid memory setting
            self.sig_error.emit(f"The engine settings are invalid ({exc}); fix them in Settings.")
            return
        self._bit_depth = int(self._session.video_info.bit_depth)
        self.sig_opened.emit(self._session.video_info)
        self._apply_shots()
        self._apply_exemplars()

    @Slot(object, object)
    def set_shots(self, shots: Sequence[Any] | None, links: dict[int, int] | None = None) -> None:
        """Hand the session a new shot list (None: one shot) and its hand-chosen links, and report the segments."""
        self._shots, self._links = (list(shots) if shots is not None else None), dict(links or {})
        if self._session is not None:
            self._apply_shots()
            self._refresh_segments()

    def _apply_shots(self) -> None:
        try:
            self._require_session().set_shots(self._shots, self._links)
        except ColorMNetError as exc:
            self.sig_error.emit(f"{exc} The film is colorized as one shot.")
            self._session.set_shots(None)  # type: ignore[union-attr]  # required just above

    @Slot(object)
    def set_exemplars(self, specs: list[ExemplarSpec]) -> None:
        """Hand the session a new exemplar list and report the new segments."""
        self._specs = list(specs)
        self._apply_exemplars()

    @Slot()
    def load_model(self) -> None:
        """Load the model now (it is otherwise loaded before the first run)."""
        self._ensure_model()

    @Slot(object, object)
    def colorize(self, request: RunRequest, cancel: threading.Event) -> None:
        """Colorize the frames of ``request`` that are not cached yet."""
        error = ""
        try:
            frames = self._prepare(*request.span(self._require_session()))
            if frames is not None:
                self.sig_run_started.emit("colorize", len(frames))
                for _ in self._colorized(frames, cancel):  # each frame is cached and shown as it comes
                    pass
        except ColorMNetError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"Cannot write to the frame cache ({exc.strerror or exc}); free some disk space."
        except Exception as exc:
            logger.exception("colorization failed")
            error = f"Colorization failed unexpectedly ({exc}); see the log file."
        self.sig_run_finished.emit("colorize", cancel.is_set(), error)

    @Slot(object, object)
    def export(self, job: ExportJob, cancel: threading.Event) -> None:
        """Write frames ``[job.start, job.stop)`` to a file, colorizing the ones not cached first."""
        error = ""
        try:
            with self._exporting():
                session = self._require_session()
                check_record(job, protected_inputs(session, self._specs))
                if job.cluster is not None:
                    from app.cluster_export import export_on_cluster

                    self.sig_run_started.emit("export", job.stop - job.start)
                    export_on_cluster(session, job, cancel, self.sig_export_progress.emit,
                                      device=self._request.settings.device if self._request else None)
                else:
                    missing = self._prepare(job.start, job.stop)
                    if missing is None:
                        raise ColorMNetError(_NO_MODEL)
                    self.sig_run_started.emit("export", len(missing))
                    from colormnet.session.run import pipelined

                    export_here(job, session.video_info, self._segments, cancel=cancel,
                                cached=self._cache.get if self._cache is not None else lambda _key, _index: None,
                                colorize_missing=lambda lo, hi: self._colorize_missing(lo, hi, cancel),
                                progress=self.sig_export_progress.emit,
                                pipelined=bool(missing) and pipelined(session.load_model()))
                if not cancel.is_set():  # the export is complete: document it
                    write_record(session, job, self._specs)
        except ColorMNetError as exc:
            error = str(exc)
        except OSError as exc:
            error = f"Cannot write {job.path} ({exc.strerror or exc}); choose another folder."
        except Exception as exc:
            logger.exception("export failed")
            error = f"The export failed unexpectedly ({exc}); see the log file."
        self.sig_run_finished.emit("export", cancel.is_set(), error)

    @Slot()
    def close(self) -> None:
        """Close the session (its video and model)."""
        if self._session is not None:
            try:
                self._session.close()
            except ColorMNetError as exc:
                logger.warning("closing the session: %s", exc)
            self._session = None
        if self._export_session is not None:
            with contextlib.suppress(ColorMNetError):
                self._export_session.close()
            self._export_session = None
        self._segments = []
        self._model_announced = False
        self._told = set()

    # -- helpers -----------------------------------------------------------------------------------------------

    def _require_session(self) -> Session:
        if self._session is None:
            raise ColorMNetError("No video is open; open a video first.")
        return self._session

    def _ensure_model(self) -> bool:
        session = self._require_session()
        try:
            session.load_model()
        except ColorMNetError as exc:
            from colormnet.errors import WeightsError

            self.sig_model_failed.emit(str(exc), isinstance(exc, WeightsError))
            return False
        if not self._model_announced:
            self._model_announced = True
            self.sig_model_loaded.emit(str(session.device), bool(session.weights_are_random), self._precision_text())
            self._refresh_segments()  # keys may depend on the weights, known now
        return True

    def _prepare(self, start: int, stop: int) -> list[int] | None:
        """The frames of ``[start, stop)`` to colorize, loading the model when any is needed (None: it failed)."""
        missing = self._missing_frames(start, stop)
        if missing and not self._ensure_model():
            return None
        return self._missing_frames(start, stop)  # the keys are final once the model is loaded

    def _apply_exemplars(self) -> None:
        if self._session is None:
            return
        from colormnet.engines import takes_references

        left_out: list[str] = []
        exemplars = self._images.exemplars(
            self._specs, with_references=takes_references(self._session.config.engine), on_error=left_out.append,
            frame_count=self._session.frame_count,
        )
        if news := [why for why in left_out if why not in self._told]:  # one message, not again at every edit
            self.sig_error.emit("\n\n".join(news))
        self._told = set(left_out)
        try:
            self._session.set_exemplars(exemplars)
            self._exemplars = exemplars
        except ColorMNetError as exc:
            self.sig_error.emit(str(exc))
        self._report_resolved_kinds()  # first: whoever waits for the segments finds the kinds told
        self._refresh_segments()

    def _report_resolved_kinds(self) -> None:
        """Tell the GUI what ``auto`` chose for each exemplar (the session decides it once per image and frame)."""
        session = self._require_session()
        kinds = {}
        for index, exemplar in enumerate(session.exemplars):
            if exemplar.kind != "auto":
                continue
            try:
                kinds[exemplar.frame] = session.resolve_kind(index)
            except ColorMNetError as exc:  # the frame cannot be read: the run will say so; the panel says "auto"
                logger.warning("cannot tell the kind of the exemplar at frame %d: %s", exemplar.frame, exc)
        self.sig_resolved_kinds.emit(kinds)

    def _precision_text(self) -> str:
        """The precision of previews and of exports, for the status bar."""
        from colormnet.engines.precision import effective_precision

        session = self._require_session()
        assert self._request is not None
        settings = self._request.settings
        device = session.load_model().device
        preview = effective_precision(settings.engine, session.config.precision, device)
        export = effective_precision(settings.engine, session_config(settings, preview=False).precision, device)
        return describe_precision(preview, export)

    @contextlib.contextmanager
    def _exporting(self) -> Iterator[None]:
        """Runs the body with the export session in place of the preview one, where their precisions differ.

        The preview session's model is loaded (and announced) first: the export session shares its network.
        """
        preview = self._require_session()
        assert self._request is not None
        config = session_config(self._request.settings, preview=False)
        if config.precision == preview.config.precision:
            yield
            return
        if not self._ensure_model():
            raise ColorMNetError(_NO_MODEL)
        from colormnet.session import Session

        if self._export_session is None:
            self._export_session = Session(preview.video_path, weights=self._request.weights, config=config)
        export = self._export_session
        export.set_exemplars(self._exemplars)
        export.set_shots(self._shots, self._links)  # the same plan as the preview's
        export.load_model()
        segments = self._segments
        self._session, self._segments = export, self._segment_infos(export)
        try:
            yield
        finally:
            self._session, self._segments = preview, segments

    def _refresh_segments(self) -> None:
        session = self._require_session()
        self._segments = self._segment_infos(session)
        self.sig_segments.emit(list(self._segments))
        borrowed = {}
        if session.exemplars:
            for source in session.shot_sources():
                if source.borrowed is not None:
                    borrowed[source.start] = (session.exemplars[source.borrowed].frame, str(source.how))
        self.sig_shot_sources.emit(borrowed)

    def _segment_infos(self, session: Session) -> list[SegmentInfo]:
        assert self._request is not None
        export = session_config(self._request.settings, preview=False).precision
        infos = []
        for segment in session.segments() if session.exemplars else []:
            key = export_key = ""
            if self._model_announced:  # the key includes the weights, known once the model is loaded
                try:
                    key = session.segment_key(segment)
                    if export != session.config.precision:  # previews at another precision than exports
                        export_key = session.segment_key(segment, precision=export)
                except ColorMNetError as exc:
                    logger.warning("no cache key for frames %d-%d: %s", segment.start, segment.stop - 1, exc)
            exemplar = session.exemplars[segment.exemplar]
            infos.append(SegmentInfo(segment.start, segment.stop, segment.anchor, exemplar.frame, key, export_key))
        return infos

    def _missing_frames(self, start: int, stop: int) -> list[int]:
        """Frames of ``[start, stop)`` not cached under a key of their segment (all of them with no segments)."""
        missing: list[int] = []
        covered = 0
        for segment in self._segments:
            lo, hi = max(start, segment.start), min(stop, segment.stop)
            if lo >= hi:
                continue
            covered += hi - lo
            cached = set().union(*(self._cache.frames(k) for k in segment.keys)) if self._cache is not None else set()
            missing.extend(i for i in range(lo, hi) if i not in cached)
        if covered < stop - start:
            return list(range(start, stop))  # let the session explain what is wrong (no exemplars)
        return missing

    def _colorize_missing(self, start: int, stop: int, cancel: threading.Event
                          ) -> tuple[list[int], Iterator[tuple[int, np.ndarray]]]:
        """The frames of ``[start, stop)`` not cached, and their run (see :meth:`_colorized`)."""
        missing = self._missing_frames(start, stop)
        return missing, self._colorized(missing, cancel)

    def _colorized(self, frames: list[int], cancel: threading.Event) -> Iterator[tuple[int, np.ndarray]]:
        """Colorizes ``frames``, caching and showing each, and yields it as ``(index, frame as cached)``."""
        if not frames:
            return
        session = self._require_session()
        with contextlib.closing(session.colorize(frames, cancel=cancel, progress=self.sig_steps.emit)) as results:
            for result in results:
                key = self._segments[result.segment].key if result.segment < len(self._segments) else ""
                stored = result.to_uint16() if self._bit_depth > 8 else result.to_uint8()
                if self._cache is not None and key:
                    self._cache.put(key, result.index, stored)
                display = stored if stored.dtype == np.uint8 else (stored >> 8).astype(np.uint8)
                self.sig_frame.emit(ColorizedFrame(result.index, key, display, result.done, result.total,
                                                   result.notice))
                if result.notice:  # the GPU ran out of memory: the session carries on smaller, or on the CPU
                    self.sig_stepped_down.emit(str(session.device), self._precision_text(), result.notice)
                yield result.index, stored
