"""One engine run of a colorize call: frames decoded in processing order, stepped through the engine, fused with
a stashed pass where two meet, and turned into :class:`~colormnet.session.types.FrameResult`.

The engine takes the frame's L* and the exemplar's RGB and returns chroma at the size asked for (see
:mod:`colormnet.engines.base`): the source's size for a frame that goes straight to the caller, the processing size
for a frame stashed or fused (:mod:`colormnet.session.fusion`), or for one computed only to reach the others.

On a GPU the run is a pipeline: frames are decoded a few ahead on a thread of their own
(:func:`~colormnet.io_threads.read_ahead`), and a frame that goes straight to the caller (neither the run's first,
nor stashed, fused or held exact) is handed to the engine as decoded and comes back finished, its L*, chroma
upsampling and LAB -> RGB done on the GPU (:class:`~colormnet.engines.base.ComposingEngine`). On the CPU every frame
takes the NumPy path, on the calling thread.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import numpy as np

from colormnet import color
from colormnet.engines import takes_references
from colormnet.engines.base import (
    Backend,
    ComposedFrame,
    ComposingEngine,
    ExemplarInput,
    ExemplarMode,
    SegmentEngine,
    StepResult,
    device_composer,
)
from colormnet.errors import ColorMNetError, ExemplarError, InferenceError
from colormnet.io_threads import read_ahead
from colormnet.plan import Run
from colormnet.session.fusion import fuse, resize_chroma, with_confidence
from colormnet.session.types import Exemplar, FrameResult, process_shape
from colormnet.stash import Stash

if TYPE_CHECKING:
    from colormnet.session.core import Session

__all__ = ["READ_AHEAD", "RunExecutor", "pipelined"]

READ_AHEAD = 4
"""Frames decoded ahead of the engine on a GPU (each ``H x W x 3`` uint8 at the source's size)."""


def pipelined(model: Backend) -> bool:
    """Whether runs on ``model`` decode ahead on a thread and compose frames on the device: on a GPU only."""
    return getattr(model.device, "type", "cpu") == "cuda"


class RunExecutor:
    """Runs the engine runs of one colorize call for ``session`` with ``model``, sharing one ``stash``."""

    def __init__(self, session: Session, model: Backend, stash: Stash) -> None:
        self.session = session
        self.model = model
        self.stash = stash

    def run(self, run: Run, done: int, total: int, cancel: threading.Event | None, skip: set[int]
            ) -> Iterator[FrameResult]:
        """Runs one engine over ``run``: yields the frames it emits or fuses (not those in ``skip``) and stashes the
        frames a later run fuses; a result with index -1 only reports progress."""
        session = self.session
        info = session.video_info
        work = process_shape(info.height, info.width, session.process_size)
        exemplar = session.exemplars[run.pass_.exemplar]
        kind = "reference" if run.pass_.borrowed else session.resolve_kind(run.pass_.exemplar)[0]
        engine = self._new_engine(exemplar, run.pass_.extras)
        exact = self._hold_extras(engine, run.pass_.extras, work)  # frame -> its keyframe's index
        first, last = run.frames[0], run.frames[-1]
        reverse = last < first
        start, stop = (last, first + 1) if reverse else (first, last + 1)
        pipeline = pipelined(self.model)
        composer = device_composer(engine) if pipeline else None
        frames = read_ahead(session.reader.frames(start, stop, reverse=reverse), READ_AHEAD if pipeline else 0)
        if pipeline:
            session.reading.add(frames)
        try:
            for index, rgb in frames:
                if cancel is not None and cancel.is_set():
                    return
                began = time.perf_counter()
                direct = (index not in skip and index in run.emit and index not in run.fuse
                          and index not in run.stash and index not in exact and index != first)
                if composer is not None and direct and rgb.dtype == np.uint8:
                    frame = self._compose(composer, rgb, work, index == last)
                    done += 1
                    yield FrameResult(index=index, rgb=frame.rgb, segment=run.emit[index], kind=kind,
                                      seconds=time.perf_counter() - began, done=done, total=total, rgb8=frame.rgb8)
                    continue
                lightness = color.luminance(rgb)  # H x W, L* of the source at full resolution
                full = (lightness.shape[0], lightness.shape[1])
                wanted = index not in skip and (index in run.emit or index in run.fuse)
                # stashed and fused frames meet at the processing size; the rest is returned at the source's
                size = full if wanted and index not in run.fuse and index not in run.stash else work
                given = ExemplarInput(exemplar.image, cast(ExemplarMode, kind)) if index == first else None
                result = self._predict(engine, lightness, work, given, index == last, size)
                ab, confidence = result.ab, result.confidence
                if index in exact and index != first:  # a keyframe held by a memory pass stays exact on its frame
                    ab = self._exemplar_chroma(session.exemplars[exact[index]], size)
                    confidence = np.ones(size, np.float32)
                done += 1
                if index in run.stash:
                    self.stash.put(index, with_confidence(ab, confidence))
                if not wanted:
                    yield FrameResult(index=-1, rgb=np.empty(0), segment=-1, kind=kind, seconds=0.0, done=done,
                                      total=total)
                    continue
                if index in run.fuse:
                    segment, weight = run.fuse[index]
                    ab = fuse(ab, self.stash.take(index, tuple(ab.shape)), weight, confidence)
                    ab = resize_chroma(ab, full)
                else:
                    segment = run.emit[index]
                yield FrameResult(index=index, rgb=color.compose_rgb(lightness, ab), segment=segment, kind=kind,
                                  seconds=time.perf_counter() - began, done=done, total=total)
        finally:
            session.reading.discard(frames)
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    @staticmethod
    def _exemplar_chroma(exemplar: Exemplar, size: tuple[int, int]) -> np.ndarray:
        """``2 x H x W`` normalised chroma of an exemplar stretched to ``size`` like the reference."""
        return ExemplarInput(exemplar.image, "keyframe").lab(*size)[1:]

    def _new_engine(self, exemplar: Exemplar, extras: tuple[int, ...] = ()) -> SegmentEngine:
        """A fresh engine for one run, given the exemplar's further references when it has any (and, for an engine
        that matches references jointly, the shot's other exemplars of a ``memory`` pass)."""
        model, session = self.model, self.session
        references = list(exemplar.references)
        if takes_references(model.name):
            references += [session.exemplars[i].image for i in extras]
        if not references:
            return model.new_engine(session.config.inference)
        if not takes_references(model.name):
            raise ExemplarError(f"Only the deepexemplar engine takes several references for one exemplar, not "
                                f"the {model.name} engine.")
        engine: SegmentEngine = model.new_engine(session.config.inference, references=tuple(references))
        return engine

    def _hold_extras(self, engine: SegmentEngine, extras: tuple[int, ...], work: tuple[int, int]) -> dict[int, int]:
        """Puts a ``memory`` pass's further exemplars into an engine with a memory (``hold``); returns the frames of
        the keyframes among them -> their index (their frames stay exact as the pass runs through)."""
        session = self.session
        exact: dict[int, int] = {}
        hold = getattr(engine, "hold", None)
        for i in extras:
            ex = session.exemplars[i]
            kind = cast(ExemplarMode, session.resolve_kind(i)[0])
            if kind == "keyframe":
                exact[ex.frame] = i
            if hold is not None:
                lightness = color.luminance(session.reader.read(ex.frame))
                with _step_errors():
                    hold(lightness, ExemplarInput(ex.image, kind), work_size=work)
        return exact

    @staticmethod
    def _compose(engine: ComposingEngine, rgb: np.ndarray, work: tuple[int, int], end: bool) -> ComposedFrame:
        """One engine step on the decoded frame, returned finished by the engine (see :meth:`run`)."""
        with _step_errors():
            return engine.step_rgb(rgb, end=end, work_size=work)

    def _predict(self, engine: SegmentEngine, lightness: np.ndarray, work: tuple[int, int],
                 exemplar: ExemplarInput | None, end: bool, size: tuple[int, int]) -> StepResult:
        """One engine step: the frame's L* computed at ``work``, its chroma returned at ``size``."""
        with _step_errors():
            return engine.step(lightness, exemplar, end=end, work_size=work, size=size)


@contextlib.contextmanager
def _step_errors() -> Iterator[None]:
    """Any failure of an engine step that is not already the library's own becomes one line."""
    try:
        yield
    except ColorMNetError:
        raise
    except RuntimeError as exc:
        raise InferenceError(f"The model failed on this frame: {exc}") from exc
