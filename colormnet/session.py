"""The session: the one API with which the CLI and the GUI colorize a video.

A session holds a video and its exemplars (colour images pinned to frames) and colorizes any set of frames as a
plain generator of :class:`FrameResult` that stops between frames when a cancel event is set::

    from colormnet.exemplar import load_exemplar_image
    from colormnet.session import Exemplar, Session

    with Session("film.mp4", weights="colormnet.pth") as session:
        session.set_exemplars([Exemplar(frame=0, image=load_exemplar_image("still.png"))])
        for result in session.colorize():
            save(result.index, result.to_uint8())

**Segments.** An exemplar governs the frames from its own frame up to the next exemplar's frame; the frames before
the first exemplar are colorized backwards from it. Each segment starts from fresh memory seeded with its exemplar,
so a segment's frames never depend on the other segments: changing one exemplar changes only its own segment.

**Resolution.** The model runs at the source size up to ``process_size`` on the short side; the predicted chroma is
upsampled and combined with the source's own full-resolution luminance.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from colormnet import color
from colormnet.config import Device, InferenceConfig, Precision
from colormnet.engines import holds_several_exemplars, load_backend, takes_references
from colormnet.engines.base import Backend, ExemplarInput, SegmentEngine, process_shape
from colormnet.errors import ColorMNetError, ExemplarError, InferenceError
from colormnet.exemplar import classify_exemplar, is_grayscale
from colormnet.plan import (
    TRANSITIONS,
    Pass,
    Run,
    Segment,
    ShotLike,
    ShotSpan,
    Transition,
    normalise_shots,
    plan_runs,
    plan_segments,
)
from colormnet.shot_links import ShotSource, choose_donors
from colormnet.stash import Stash
from colormnet.video import VideoInfo, VideoReader
from colormnet.video.orientation import to_stored

logger = logging.getLogger(__name__)

ExemplarKind = Literal["auto", "keyframe", "reference"]


@dataclass(frozen=True)
class Exemplar:
    """A colour image pinned to a frame.

    Attributes:
        frame: index of the frame it is pinned to.
        image: ``H x W x 3`` float32 RGB in [0, 1], any size (see :func:`colormnet.exemplar.load_exemplar_image`),
            upright as a player shows the video: for a video with a display rotation (phone clips) the session
            turns it into the stored orientation (see :mod:`colormnet.video.orientation`).
        kind: ``keyframe`` (a colorized version of that very frame), ``reference`` (any colour photo) or ``auto``
            (decided by comparing the exemplar's luminance with the frame's).
        name: shown in messages, e.g. the file name.
        references: further colour images (same format as ``image``) matched jointly with it; only engines for
            which :func:`colormnet.engines.takes_references` holds (``deepexemplar``) accept them.
    """

    frame: int
    image: np.ndarray = field(repr=False)
    kind: ExemplarKind = "auto"
    name: str = ""
    references: tuple[np.ndarray, ...] = field(default=(), repr=False)

    def digest(self) -> str:
        """Content hash of the image (for cache keys)."""
        return _image_digest(self.image)

    def reference_digests(self) -> list[str]:
        """Content hashes of the further references, in order (for cache keys)."""
        return [_image_digest(image) for image in self.references]


def _image_digest(image: np.ndarray) -> str:
    arr = np.ascontiguousarray(image, dtype=np.float32)  # no copy for the float32 images the loader makes
    digest = hashlib.sha256(arr.data.cast("B"))  # hashed in place: no byte copy of a large exemplar
    digest.update(str(arr.shape).encode())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SessionConfig:
    """How a session runs the model.

    Attributes:
        engine: which engine colorizes (see :func:`colormnet.engines.available_engines`).
        engine_options: engine-specific settings as ``(name, value)`` pairs (e.g. Deep Exemplar's framing).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        precision: ``auto`` (fp16 autocast on CUDA, fp32 on CPU), ``fp32``, ``fp16`` (CUDA) or ``bf16`` (autocast on
            CUDA or the CPU; fast on CPUs with AMX or AVX512-BF16, where the app previews in it).
        process_size: cap on the short side of the frames the model sees.
        inference: the memory schedule.
        transition: how two exemplars of one shot meet: ``blend`` (a forward pass from the first fused with a
            backward pass from the second, smoothly by position) or ``cut`` (each exemplar governs up to the next).
    """

    engine: str = "colormnet"
    engine_options: tuple[tuple[str, object], ...] = ()
    device: Device = "auto"
    precision: Precision = "auto"
    process_size: int = 540
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    transition: Transition = "blend"

    def __post_init__(self) -> None:
        if self.process_size < 16:
            raise ValueError("process_size must be at least 16 pixels")
        if self.transition not in TRANSITIONS:
            raise ValueError(f"Unknown transition {self.transition!r}: use {' or '.join(TRANSITIONS)}.")


@dataclass(frozen=True)
class FrameResult:
    """One colorized frame.

    Attributes:
        index: frame index in the video.
        rgb: ``H x W x 3`` float32 RGB in [0, 1] at the source's size.
        segment: index of the segment (= of its exemplar).
        kind: how the segment's exemplar was used, ``keyframe`` or ``reference``.
        seconds: time spent on this frame.
        done: frames processed so far in this run (including frames computed only to reach the requested ones).
        total: frames this run processes in all.
        notice: something the user should be told about this run (e.g. a fallback after the GPU ran out of memory).
    """

    index: int
    rgb: np.ndarray = field(repr=False)
    segment: int
    kind: str
    seconds: float
    done: int
    total: int
    notice: str = ""

    def to_uint8(self) -> np.ndarray:
        """8-bit RGB, truncated like the reference implementation's PNGs."""
        return color.to_uint8_truncated(self.rgb)

    def to_uint16(self) -> np.ndarray:
        """16-bit RGB, rounded."""
        return np.round(np.clip(self.rgb, 0.0, 1.0) * 65535.0).astype(np.uint16)


class _OutOfMemoryError(Exception):
    """The device ran out of memory during a step (handled by a retry at a smaller size or on the CPU)."""


def _check_colour_image(image: np.ndarray, label: str) -> None:
    """Raises ExemplarError unless ``image`` is a non-empty RGB image with colour."""
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ExemplarError(f"{label} is not an RGB image.")
    if is_grayscale(image):
        raise ExemplarError(f"{label} is a grayscale image: an exemplar must carry colour.")


@contextlib.contextmanager
def _engine_errors(model: Backend) -> Iterator[None]:
    """Work on the engine's device: out of GPU memory becomes a retry at a smaller size, other failures one line."""
    try:
        yield
    except ColorMNetError:
        raise
    except torch.cuda.OutOfMemoryError as exc:
        if model.device.type == "cpu":
            raise InferenceError("Out of memory: lower the processing size or close other programs.") from exc
        raise _OutOfMemoryError from exc
    except RuntimeError as exc:
        raise InferenceError(f"The model failed on this frame: {exc}") from exc


#: Confidence every pass keeps in the fusion: where both passes have lost the trail, position alone decides.
CONFIDENCE_FLOOR = 0.02


def _with_confidence(ab: np.ndarray, confidence: np.ndarray | None) -> np.ndarray:
    """``2 x h x w`` chroma, with the engine's ``h x w`` confidence as a third plane when it gives one."""
    if confidence is None or confidence.shape != ab.shape[-2:]:
        return ab
    return np.concatenate([ab, confidence[None].astype(np.float32)])


def _fusion_weight(weight: float, first: np.ndarray | None, second: np.ndarray | None) -> np.ndarray:
    """The second pass's share of each pixel: its position weight, tilted towards the pass that is surer there.

    Returns a 0-d array (the position weight) unless both passes give a confidence of the same shape.
    """
    if first is None or second is None or first.shape != second.shape:
        return np.asarray(weight, np.float32)
    a = (1.0 - weight) * (first.astype(np.float32) + CONFIDENCE_FLOOR)
    b = weight * (second.astype(np.float32) + CONFIDENCE_FLOOR)
    return (b / (a + b)).astype(np.float32)


class Session:
    """A video, its exemplars and a model, colorized segment by segment.

    Args:
        video: a video file or a folder of numbered images.
        weights: checkpoint path (default: ``$COLORMNET_WEIGHTS`` or the per-user data folder).
        config: device, precision, processing size and memory schedule.

    The model is loaded by :meth:`load_model` (or the first :meth:`colorize`), not by the constructor.
    """

    def __init__(self, video: str | Path, *, weights: str | Path | None = None, config: SessionConfig | None = None):
        self.config = config or SessionConfig()
        self.weights = weights
        self.video_path = Path(video)
        self._reader = VideoReader(self.video_path)
        self.video_info: VideoInfo = self._reader.info
        self.exemplars: tuple[Exemplar, ...] = ()
        self._shots: list[ShotSpan] = normalise_shots(None, self.frame_count)
        self._links: dict[int, int] = {}  # shot's first frame -> frame of the exemplar it is linked to by hand
        self._plan: tuple[list[Segment], list[ShotSource]] | None = None
        self._model: Backend | None = None
        self._kinds: dict[tuple[int, str], tuple[str, float]] = {}
        self.process_size = self.config.process_size  # lowered (for good) after the GPU runs out of memory

    # -- set-up ---------------------------------------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases the video."""
        self._reader.close()

    @property
    def reader(self) -> VideoReader:
        """The session's reader of the video (for its timestamps and streams; decoding belongs to colorize)."""
        return self._reader

    @property
    def frame_count(self) -> int:
        """Number of frames of the video."""
        return self.video_info.frame_count

    def set_exemplars(self, exemplars: Sequence[Exemplar]) -> None:
        """Replaces the exemplars.

        Raises:
            ExemplarError: a frame index out of range, two exemplars on one frame, an image without colour, or
                further references for an engine that takes one image per exemplar.
        """
        n = self.frame_count
        seen: set[int] = set()
        for ex in exemplars:
            label = ex.name or f"the exemplar at frame {ex.frame}"
            if not 0 <= ex.frame < n:
                raise ExemplarError(f"{label} is pinned to frame {ex.frame}, but the video has frames 0 to {n - 1}.")
            if ex.frame in seen:
                raise ExemplarError(f"Two exemplars are pinned to frame {ex.frame}; keep one per frame.")
            seen.add(ex.frame)
            _check_colour_image(ex.image, label)
            if ex.kind not in ("auto", "keyframe", "reference"):
                raise ExemplarError(f"Unknown exemplar kind {ex.kind!r}: use auto, keyframe or reference.")
            self._check_references(ex, label)
        rotation = self.video_info.rotation  # exemplars are upright; the engines see the frames as stored
        turned = [dataclasses.replace(ex, image=to_stored(ex.image, rotation),
                                      references=tuple(to_stored(image, rotation) for image in ex.references))
                  for ex in exemplars] if rotation else list(exemplars)
        self.exemplars = tuple(sorted(turned, key=lambda e: e.frame))
        self._plan = None

    @property
    def shots(self) -> list[ShotSpan]:
        """The shots (one shot spanning the video until :meth:`set_shots`)."""
        return list(self._shots)

    def set_shots(self, shots: Sequence[ShotLike] | None, links: dict[int, int] | None = None) -> None:
        """Replaces the shot list (None: the whole video is one shot).

        Args:
            shots: shots tiling the video, each with ``start``, ``stop`` and ``transition`` (the frames
                ``[t0, t1)`` of the dissolve or fade that opens it, or None for a cut).
            links: a shot's first frame -> the frame of an exemplar (of another shot) that a shot without its own
                exemplar borrows, chosen by hand; other such shots borrow the exemplar of the most similar shot.

        Raises:
            ExemplarError: the shots do not tile the video.
        """
        try:
            self._shots = normalise_shots(shots, self.frame_count)
        except ValueError as exc:
            raise ExemplarError(str(exc)) from exc
        self._links = dict(links or {})
        self._plan = None

    def _check_references(self, exemplar: Exemplar, label: str) -> None:
        if exemplar.references and not takes_references(self.config.engine):
            raise ExemplarError(
                f"{label} has further reference images, but only the deepexemplar engine takes several references "
                f"for one exemplar (the engine is {self.config.engine})."
            )
        for i, image in enumerate(exemplar.references, 1):
            _check_colour_image(image, f"Further reference {i} of {label}")

    def load_model(self) -> Backend:
        """Loads the engine (for ColorMNet: the checkpoint onto the device); idempotent.

        Raises:
            WeightsError: the checkpoint is missing or unusable.
        """
        if self._model is None:
            cfg = self.config
            self._model = load_backend(
                cfg.engine, self.weights, device=cfg.device, precision=cfg.precision, options=dict(cfg.engine_options)
            )
        return self._model

    @property
    def device(self) -> str:
        """The device the model runs on (after :meth:`load_model`)."""
        return str(self.load_model().device)

    @property
    def weights_are_random(self) -> bool:
        """Whether the loaded checkpoint is a randomly initialised one."""
        return self.load_model().is_random

    # -- segments -------------------------------------------------------------------------------------------------

    def segments(self) -> list[Segment]:
        """The segments, in frame order (empty without exemplars): see :mod:`colormnet.plan`."""
        return list(self._planned()[0])

    def shot_sources(self) -> list[ShotSource]:
        """Where each shot's colours come from: its own exemplars, a borrowed one (and why), or none."""
        return list(self._planned()[1])

    def _planned(self) -> tuple[list[Segment], list[ShotSource]]:
        if self._plan is None:
            if not self.exemplars:
                self._plan = [], []
            else:
                frames = [ex.frame for ex in self.exemplars]
                sources = choose_donors(self._shots, frames, self._reader.read, links=self._links)
                donors = {i: src.borrowed for i, src in enumerate(sources) if src.borrowed is not None}
                segments = plan_segments(self._shots, frames, transition=self.config.transition, donors=donors)
                self._plan = segments, sources
        return self._plan

    def segment_at(self, frame: int) -> Segment:
        """The segment that governs ``frame``."""
        for segment in self.segments():
            if frame in segment:
                return segment
        raise ExemplarError("Pin an exemplar to a frame first: there is nothing to colorize from.")

    def segment_key(self, segment: Segment) -> str:
        """A hash of everything that determines the segment's frames (video, exemplars, passes, settings, weights)."""
        model = self.load_model()
        stat = self.video_path.stat() if self.video_path.is_file() else None
        parts: dict[str, object] = {
            "video": str(self.video_path.resolve()),
            "video_stat": (stat.st_size, stat.st_mtime_ns) if stat else None,
            "frames": self.frame_count,
            "process_size": self.process_size,
            "inference": asdict(self.config.inference),
            "engine": model.fingerprint,
            "passes": [self._pass_identity(p) for p in segment.passes()],
            "pieces": [(p.start, p.stop, p.ramp, p.smooth, len(p.passes)) for p in segment.pieces],
            "shot": (self._shots[segment.shot].start, self._shots[segment.shot].stop),
        }
        return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()[:24]

    def _pass_identity(self, p: Pass) -> tuple[object, ...]:
        ex = self.exemplars[p.exemplar]
        kind = "reference" if p.borrowed else ex.kind
        held = [(self.exemplars[i].frame, self.exemplars[i].digest(), self.exemplars[i].kind) for i in p.extras]
        return p.anchor, p.forward, ex.digest(), kind, tuple(ex.reference_digests()), *held

    def resolve_kind(self, exemplar_index: int) -> tuple[str, float]:
        """The kind an exemplar is used as, and the luminance similarity that decided ``auto`` (NaN otherwise).

        Reads the exemplar's frame with the session's reader: do not call it from another thread while
        :meth:`colorize` runs (``colorize`` resolves the kinds it needs itself).
        """
        ex = self.exemplars[exemplar_index]
        if ex.kind != "auto":
            return ex.kind, math.nan
        cache_key = (ex.frame, ex.digest())
        if cache_key not in self._kinds:
            kind, score = classify_exemplar(ex.image, self._reader.read(ex.frame))
            logger.info("Exemplar at frame %d used as a %s (luminance SSIM %.3f)", ex.frame, kind, score)
            self._kinds[cache_key] = (kind, score)
        return self._kinds[cache_key]

    # -- colorizing -----------------------------------------------------------------------------------------------

    def plan(self, frames: Iterable[int] | None = None) -> list[Run]:
        """The engine runs needed for ``frames`` (all frames when ``None``)."""
        if not self.exemplars:
            raise ExemplarError("Pin at least one exemplar before colorizing.")
        n = self.frame_count
        wanted = set(range(n)) if frames is None else set(frames)
        bad = [f for f in wanted if not 0 <= f < n]
        if bad:
            raise ExemplarError(f"Frame {min(bad)} is out of range: the video has frames 0 to {n - 1}.")
        if self.config.transition == "memory" and not holds_several_exemplars(self.config.engine):
            raise ExemplarError(f"The {self.config.engine} engine holds one exemplar at a time: use --transition "
                                "blend or cut.")
        covered = {f for seg in self.segments() for f in range(seg.start, seg.stop)}
        if not wanted <= covered:
            first = min(wanted - covered)
            raise ExemplarError(f"Frame {first} is in a shot with no exemplar to colorize it from.")
        return plan_runs(self.segments(), wanted)

    def count_steps(self, frames: Iterable[int] | None = None) -> int:
        """How many frames a :meth:`colorize` call for ``frames`` processes (for progress and ETA)."""
        return sum(len(run.frames) for run in self.plan(frames))

    def colorize(
        self, frames: Iterable[int] | None = None, *, cancel: threading.Event | None = None
    ) -> Iterator[FrameResult]:
        """Colorizes ``frames`` (all when ``None``), yielding each requested frame as it is produced.

        Frames come in processing order: run by run, each from its anchor outwards (see :meth:`plan`); a frame
        fused from two passes comes with the second of them. The generator returns early, between two frames, once
        ``cancel`` is set.

        Raises:
            ColorMNetError: bad exemplars or frames, unusable weights, or a failure inside the model.
        """
        runs = self.plan(frames)
        total = sum(len(run.frames) for run in runs)
        done = 0
        notice = ""
        with Stash() as stash:
            for run in runs:
                yielded: set[int] = set()
                while True:
                    try:
                        model = self.load_model()
                        for result in self._colorize_run(model, run, done, total, cancel, stash, yielded):
                            done = result.done
                            notice = " ".join(filter(None, (notice, self._reader.take_damage_notice())))
                            if result.index < 0:  # progress through frames that are not yielded
                                continue
                            if notice:
                                result = dataclasses.replace(result, notice=notice)
                                notice = ""
                            yielded.add(result.index)
                            yield result
                        break
                    except _OutOfMemoryError:
                        self.process_size, notice = self._recover_from_oom(self.process_size)
                        total += len(run.frames)  # the run starts again from its anchor
                if cancel is not None and cancel.is_set():
                    return

    def _recover_from_oom(self, process_size: int) -> tuple[int, str]:
        """Frees GPU memory and picks a smaller processing size, or the CPU once the size reaches its floor."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        info = self.video_info
        current = min(process_size, info.height, info.width)
        smaller = int(current * 0.75)
        if smaller >= 112:
            notice = f"The GPU ran out of memory; continuing at a processing size of {smaller} (was {current})."
        else:
            smaller = current
            cfg = self.config
            self._model = load_backend(
                cfg.engine, self.weights, device="cpu", precision="fp32", options=dict(cfg.engine_options)
            )
            notice = f"The GPU ran out of memory even at {current} pixels; continuing on the CPU (slower)."
        logger.warning(notice)
        return smaller, notice

    def _exemplar_planes(self, exemplar: Exemplar, height: int, width: int) -> np.ndarray:
        """``3 x height x width`` normalised LAB of the exemplar resized like the reference (Pillow bilinear)."""
        rgb = color.resize_rgb(exemplar.image, width, height)
        return color.normalize_lab(color.rgb_to_lab(rgb))

    def _colorize_run(
        self,
        model: Backend,
        run: Run,
        done: int,
        total: int,
        cancel: threading.Event | None,
        stash: Stash,
        skip: set[int],
    ) -> Iterator[FrameResult]:
        """Runs one engine over ``run``: yields the frames it emits or fuses (not those in ``skip``) and stashes the
        frames a later run fuses; a result with index -1 only reports progress."""
        info = self.video_info
        ph, pw = process_shape(info.height, info.width, self.process_size)
        exemplar = self.exemplars[run.pass_.exemplar]
        kind = "reference" if run.pass_.borrowed else self.resolve_kind(run.pass_.exemplar)[0]
        ex_lab = torch.from_numpy(self._exemplar_planes(exemplar, ph, pw)).to(model.device)
        engine = self._new_engine(model, exemplar, run.pass_.extras)
        exact = self._hold_extras(engine, model, run.pass_.extras, (ph, pw))  # frame -> its keyframe's chroma
        first, last = run.frames[0], run.frames[-1]
        reverse = last < first
        start, stop = (last, first + 1) if reverse else (first, last + 1)
        frames = self._reader.frames(start, stop, reverse=reverse)
        try:
            for index, rgb in frames:
                if cancel is not None and cancel.is_set():
                    return
                began = time.perf_counter()
                lightness = color.luminance(rgb)  # H x W, L* of the source at full resolution
                ab = self._predict(engine, model, lightness, (ph, pw), ex_lab, exemplar.image, kind, index == first,
                                   index == last)  # 2 x ph x pw
                if index in exact and index != first:  # a keyframe held by a memory pass stays exact on its frame
                    planes = self._exemplar_planes(self.exemplars[exact[index]], ph, pw)[1:]
                    ab = torch.from_numpy(planes).to(ab.device, ab.dtype)
                done += 1
                confidence = getattr(engine, "confidence", None)  # h x w in [0, 1], from engines that have one
                if index in run.stash:
                    stash.put(index, _with_confidence(ab.float().cpu().numpy(), confidence))
                if index in skip or not (index in run.emit or index in run.fuse):
                    yield FrameResult(index=-1, rgb=np.empty(0), segment=-1, kind=kind, seconds=0.0, done=done,
                                      total=total)
                    continue
                if index in run.fuse:
                    segment, weight = run.fuse[index]
                    other = stash.take(index, tuple(ab.shape))
                    share = _fusion_weight(weight, confidence, other[2] if len(other) == 3 else None)
                    ab = torch.lerp(ab, torch.from_numpy(other[:2]).to(ab.device, ab.dtype),
                                    torch.from_numpy(share).to(ab.device, ab.dtype) if share.ndim else weight)
                else:
                    segment = run.emit[index]
                if ab.shape[-2:] != lightness.shape:
                    with _engine_errors(model):  # on the engine's device, like its step
                        ab = F.interpolate(ab[None], size=lightness.shape, mode="bilinear", align_corners=False)[0]
                ab_full = ab.cpu().numpy()
                if ((index == first and kind == "keyframe") or index in exact) and index not in run.fuse \
                        and (ph, pw) != lightness.shape:
                    here = exemplar if index == first else self.exemplars[exact[index]]
                    ab_full = self._exemplar_planes(here, *lightness.shape)[1:]
                yield FrameResult(
                    index=index,
                    rgb=color.compose_rgb(lightness, ab_full),
                    segment=segment,
                    kind=kind,
                    seconds=time.perf_counter() - began,
                    done=done,
                    total=total,
                )
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def _new_engine(self, model: Backend, exemplar: Exemplar, extras: tuple[int, ...] = ()) -> SegmentEngine:
        """A fresh engine for one run, given the exemplar's further references when it has any (and, for an engine
        that matches references jointly, the shot's other exemplars of a ``memory`` pass)."""
        references = list(exemplar.references)
        if takes_references(model.name):
            references += [self.exemplars[i].image for i in extras]
        if not references:
            return model.new_engine(self.config.inference)
        if not takes_references(model.name):
            raise ExemplarError(f"Only the deepexemplar engine takes several references for one exemplar, not "
                                f"the {model.name} engine.")
        engine: SegmentEngine = model.new_engine(self.config.inference, references=tuple(references))
        return engine

    def _hold_extras(self, engine: SegmentEngine, model: Backend, extras: tuple[int, ...],
                     process_hw: tuple[int, int]) -> dict[int, int]:
        """Puts a ``memory`` pass's further exemplars into an engine with a memory (``hold``); returns the frames of
        the keyframes among them -> their index (their frames stay exact as the pass runs through)."""
        exact: dict[int, int] = {}
        hold = getattr(engine, "hold", None)
        for i in extras:
            ex = self.exemplars[i]
            kind = self.resolve_kind(i)[0]
            lab = torch.from_numpy(self._exemplar_planes(ex, *process_hw)).to(model.device)
            if kind == "keyframe":
                exact[ex.frame] = i
            if hold is not None:
                lightness = torch.from_numpy(color.normalize_l(color.luminance(self._reader.read(ex.frame))))
                plane = color.resize_plane(lightness.to(model.device)[None], *process_hw)
                with _engine_errors(model):
                    hold(plane, ExemplarInput(lab, kind, ex.image))  # type: ignore[arg-type]
        return exact

    def _predict(
        self,
        engine: SegmentEngine,
        model: Backend,
        lightness: np.ndarray,
        process_hw: tuple[int, int],
        ex_lab: torch.Tensor,
        ex_image: np.ndarray,
        kind: str,
        is_first: bool,
        is_last: bool,
    ) -> torch.Tensor:
        """Runs one engine step; returns ``2 x h x w`` normalised chroma at the processing size, on the device."""
        with _engine_errors(model):
            plane = torch.from_numpy(color.normalize_l(lightness)).to(model.device)[None]
            plane = color.resize_plane(plane, *process_hw)
            exemplar = ExemplarInput(ex_lab, kind, ex_image) if is_first else None  # type: ignore[arg-type]
            return engine.step(plane, exemplar, end=is_last)
