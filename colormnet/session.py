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
from colormnet.engines import Backend, SegmentEngine, load_backend, takes_references
from colormnet.errors import ColorMNetError, ExemplarError, InferenceError
from colormnet.exemplar import classify_exemplar, is_grayscale
from colormnet.inference.engine import ExemplarInput
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
    arr = np.ascontiguousarray(image, dtype=np.float32)
    return hashlib.sha256(arr.tobytes() + str(arr.shape).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SessionConfig:
    """How a session runs the model.

    Attributes:
        engine: which engine colorizes (see :func:`colormnet.engines.available_engines`).
        engine_options: engine-specific settings as ``(name, value)`` pairs (e.g. Deep Exemplar's framing).
        device: ``auto`` (CUDA when available), ``cpu`` or ``cuda``.
        precision: ``auto`` (fp16 autocast on CUDA, fp32 on CPU), ``fp32``, ``fp16`` or ``bf16`` (CUDA only).
        process_size: cap on the short side of the frames the model sees.
        inference: the memory schedule.
    """

    engine: str = "colormnet"
    engine_options: tuple[tuple[str, object], ...] = ()
    device: Device = "auto"
    precision: Precision = "auto"
    process_size: int = 540
    inference: InferenceConfig = field(default_factory=InferenceConfig)

    def __post_init__(self) -> None:
        if self.process_size < 16:
            raise ValueError("process_size must be at least 16 pixels")


@dataclass(frozen=True)
class Segment:
    """The frames ``[start, stop)`` governed by one exemplar, pinned at ``anchor``.

    Frames in ``[start, anchor)`` (only before the first exemplar) are colorized backwards from the anchor.
    """

    exemplar: int
    start: int
    stop: int
    anchor: int

    def __contains__(self, frame: object) -> bool:
        return isinstance(frame, int) and self.start <= frame < self.stop


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


@dataclass(frozen=True)
class _Run:
    """Consecutive frames processed with one engine, starting at the anchor."""

    segment: int
    frames: list[int]  # in processing order, frames[0] is the anchor
    wanted: frozenset[int]


def process_shape(height: int, width: int, cap: int) -> tuple[int, int]:
    """Size at which the model sees a ``height x width`` frame: unchanged up to ``cap`` on the short side."""
    short = min(height, width)
    if short <= cap:
        return height, width
    scale = cap / short
    return max(1, round(height * scale)), max(1, round(width * scale))


def _check_colour_image(image: np.ndarray, label: str) -> None:
    """Raises ExemplarError unless ``image`` is a non-empty RGB image with colour."""
    if image.ndim != 3 or image.shape[2] != 3 or image.size == 0:
        raise ExemplarError(f"{label} is not an RGB image.")
    if is_grayscale(image):
        raise ExemplarError(f"{label} is a grayscale image: an exemplar must carry colour.")


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
        """The segments, in frame order (empty without exemplars)."""
        frames = [ex.frame for ex in self.exemplars]
        if not frames:
            return []
        bounds = [*frames[1:], self.frame_count]
        return [
            Segment(exemplar=i, start=0 if i == 0 else f, stop=stop, anchor=f)
            for i, (f, stop) in enumerate(zip(frames, bounds, strict=True))
        ]

    def segment_at(self, frame: int) -> Segment:
        """The segment that governs ``frame``."""
        for segment in self.segments():
            if frame in segment:
                return segment
        raise ExemplarError("Pin an exemplar to a frame first: there is nothing to colorize from.")

    def segment_key(self, segment: Segment) -> str:
        """A hash of everything that determines the segment's frames (video, exemplar, settings, weights)."""
        ex = self.exemplars[segment.exemplar]
        model = self.load_model()
        stat = self.video_path.stat() if self.video_path.is_file() else None
        parts: dict[str, object] = {
            "video": str(self.video_path.resolve()),
            "video_stat": (stat.st_size, stat.st_mtime_ns) if stat else None,
            "frames": self.frame_count,
            "anchor": segment.anchor,
            "exemplar": ex.digest(),
            "kind": ex.kind,
            "process_size": self.process_size,
            "inference": asdict(self.config.inference),
            "engine": model.fingerprint,
        }
        if ex.references:  # only then, so that the keys of single-image exemplars stay those already cached
            parts["references"] = ex.reference_digests()
        return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()[:24]

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

    def plan(self, frames: Iterable[int] | None = None) -> list[_Run]:
        """The engine runs needed for ``frames`` (all frames when ``None``)."""
        if not self.exemplars:
            raise ExemplarError("Pin at least one exemplar before colorizing.")
        n = self.frame_count
        wanted = set(range(n)) if frames is None else set(frames)
        bad = [f for f in wanted if not 0 <= f < n]
        if bad:
            raise ExemplarError(f"Frame {min(bad)} is out of range: the video has frames 0 to {n - 1}.")
        runs = []
        for i, seg in enumerate(self.segments()):
            forward = {f for f in wanted if seg.anchor <= f < seg.stop}
            backward = {f for f in wanted if seg.start <= f < seg.anchor}
            if forward:
                runs.append(_Run(i, list(range(seg.anchor, max(forward) + 1)), frozenset(forward)))
            if backward:
                runs.append(_Run(i, list(range(seg.anchor, min(backward) - 1, -1)), frozenset(backward)))
        return runs

    def count_steps(self, frames: Iterable[int] | None = None) -> int:
        """How many frames a :meth:`colorize` call for ``frames`` processes (for progress and ETA)."""
        return sum(len(run.frames) for run in self.plan(frames))

    def colorize(
        self, frames: Iterable[int] | None = None, *, cancel: threading.Event | None = None
    ) -> Iterator[FrameResult]:
        """Colorizes ``frames`` (all when ``None``), yielding each requested frame as it is produced.

        Frames come in processing order: per segment, the anchor onwards ascending, then the frames before it
        descending. The generator returns early, between two frames, once ``cancel`` is set.

        Raises:
            ColorMNetError: bad exemplars or frames, unusable weights, or a failure inside the model.
        """
        runs = self.plan(frames)
        total = sum(len(run.frames) for run in runs)
        done = 0
        notice = ""
        for run in runs:
            yielded: set[int] = set()
            while True:
                try:
                    model = self.load_model()
                    for result in self._colorize_run(model, run, done, total, cancel, self.process_size, yielded):
                        done = result.done
                        notice = " ".join(filter(None, (notice, self._reader.take_damage_notice())))
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
        run: _Run,
        done: int,
        total: int,
        cancel: threading.Event | None,
        process_size: int,
        skip: set[int],
    ) -> Iterator[FrameResult]:
        """Runs one engine over ``run``, yielding its wanted frames that are not in ``skip``."""
        info = self.video_info
        ph, pw = process_shape(info.height, info.width, process_size)
        exemplar = self.exemplars[run.segment]
        kind, _ = self.resolve_kind(run.segment)
        device = model.device
        ex_lab = torch.from_numpy(self._exemplar_planes(exemplar, ph, pw)).to(device)
        engine = self._new_engine(model, exemplar)
        reverse = len(run.frames) > 1 and run.frames[1] < run.frames[0]
        first, last = run.frames[0], run.frames[-1]
        start, stop = (last, first + 1) if reverse else (first, last + 1)
        frames = self._reader.frames(start, stop, reverse=reverse)
        try:
            for index, rgb in frames:
                if cancel is not None and cancel.is_set():
                    return
                began = time.perf_counter()
                lightness = color.luminance(rgb)  # H x W, L* of the source at full resolution
                ab_full = self._predict(
                    engine, model, lightness, (ph, pw), ex_lab, exemplar.image, kind, index == first, index == last
                )
                if index == first and kind == "keyframe" and (ph, pw) != lightness.shape:
                    ab_full = self._exemplar_planes(exemplar, *lightness.shape)[1:]
                done += 1
                if index not in run.wanted or index in skip:
                    continue
                rgb_out = color.compose_rgb(lightness, ab_full)
                yield FrameResult(
                    index=index,
                    rgb=rgb_out,
                    segment=run.segment,
                    kind=kind,
                    seconds=time.perf_counter() - began,
                    done=done,
                    total=total,
                )
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def _new_engine(self, model: Backend, exemplar: Exemplar) -> SegmentEngine:
        """A fresh engine for one run, given the exemplar's further references when it has any."""
        if not exemplar.references:
            return model.new_engine(self.config.inference)
        if not takes_references(model.name):
            raise ExemplarError(f"Only the deepexemplar engine takes several references for one exemplar, not "
                                f"the {model.name} engine.")
        engine: SegmentEngine = model.new_engine(self.config.inference, references=exemplar.references)  # type: ignore[call-arg]
        return engine

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
    ) -> np.ndarray:
        """Runs one engine step; returns ``2 x H x W`` normalised chroma at the source size."""
        height, width = lightness.shape
        try:
            plane = torch.from_numpy(color.normalize_l(lightness)).to(model.device)[None]
            plane = color.resize_plane(plane, *process_hw)
            exemplar = ExemplarInput(ex_lab, kind, ex_image) if is_first else None  # type: ignore[arg-type]
            ab = engine.step(plane, exemplar, end=is_last)
            if ab.shape[-2:] != (height, width):
                ab = F.interpolate(ab[None], size=(height, width), mode="bilinear", align_corners=False)[0]
            return ab.cpu().numpy()
        except ColorMNetError:
            raise
        except torch.cuda.OutOfMemoryError as exc:
            if model.device.type == "cpu":
                raise InferenceError("Out of memory: lower the processing size or close other programs.") from exc
            raise _OutOfMemoryError from exc
        except RuntimeError as exc:
            raise InferenceError(f"The model failed on this frame: {exc}") from exc
