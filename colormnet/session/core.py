"""The :class:`Session`: a video, its exemplars and an engine; segments, cache keys, exemplar kinds, the plan of
engine runs and the colorize loop with its recovery when the GPU runs out of memory."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from colormnet.config import Precision
from colormnet.engines import holds_several_exemplars, load_backend, takes_references
from colormnet.engines.base import Backend
from colormnet.errors import DeviceOutOfMemoryError, ExemplarError
from colormnet.exemplar import classify_exemplar
from colormnet.plan import Pass, Run, Segment, ShotLike, ShotSpan, normalise_shots, plan_runs, plan_segments
from colormnet.session.run import RunExecutor
from colormnet.session.types import Exemplar, FrameResult, SessionConfig, check_colour_image
from colormnet.shot_links import ShotSource, choose_donors
from colormnet.stash import Stash
from colormnet.video import VideoInfo, VideoReader
from colormnet.video.orientation import to_stored

__all__ = ["Session"]

logger = logging.getLogger(__name__)


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
        self._reader = VideoReader(self.video_path, fps=self.config.sequence_fps)
        self.video_info: VideoInfo = self._reader.info
        self.exemplars: tuple[Exemplar, ...] = ()
        self._shots: list[ShotSpan] = normalise_shots(None, self.frame_count)
        self._links: dict[int, int] = {}  # shot's first frame -> frame of the exemplar it is linked to by hand
        self._plan: tuple[list[Segment], list[ShotSource]] | None = None
        self._model: Backend | None = None
        self._fingerprints: dict[Precision, str] = {}  # the engine's identity at other precisions (segment_key)
        self._hashed: dict[int, tuple[Exemplar, str, tuple[str, ...]]] = {}  # frame -> exemplar, its digests
        self._kinds: dict[tuple[int, str], tuple[str, float]] = {}
        self.process_size = self.config.process_size  # lowered (for good) after the GPU runs out of memory
        #: the frame iterators of the GPU runs in progress, each decoding ahead on a thread: :meth:`close` stops
        #: them before it releases the video, even when a caller dropped a colorize generator unfinished
        self.reading: set[Iterator[object]] = set()

    # -- set-up ---------------------------------------------------------------------------------------------------

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stops the runs' decoding and releases the video."""
        for frames in list(self.reading):
            close = getattr(frames, "close", None)
            if close is not None:
                close()
        self.reading.clear()
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
            check_colour_image(ex.image, label)
            if ex.kind not in ("auto", "keyframe", "reference"):
                raise ExemplarError(f"Unknown exemplar kind {ex.kind!r}: use auto, keyframe or reference.")
            self._check_references(ex, label)
        rotation = self.video_info.rotation  # exemplars are upright; the engines see the frames as stored
        turned = [dataclasses.replace(ex, image=to_stored(ex.image, rotation),
                                      references=tuple(to_stored(image, rotation) for image in ex.references))
                  for ex in exemplars] if rotation else list(exemplars)
        self.exemplars = tuple(sorted(turned, key=lambda e: e.frame))
        self._hashed = {ex.frame: self._hashed[ex.frame] for ex in self.exemplars
                        if ex.frame in self._hashed and _same_images(self._hashed[ex.frame][0], ex)}
        self._plan = None

    @property
    def shots(self) -> list[ShotSpan]:
        """The shots (one shot spanning the video until :meth:`set_shots`)."""
        return list(self._shots)

    @property
    def shot_links(self) -> dict[int, int]:
        """The links chosen by hand with :meth:`set_shots` (a shot's first frame -> an exemplar's frame)."""
        return dict(self._links)

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
            check_colour_image(image, f"Further reference {i} of {label}")

    def load_model(self) -> Backend:
        """Loads the engine (for ColorMNet: the checkpoint onto the device); idempotent.

        Raises:
            WeightsError: the checkpoint is missing or unusable.
        """
        if self._model is None:
            self._model = self._backend(self.config.precision)
        return self._model

    def _backend(self, precision: Precision) -> Backend:
        cfg = self.config
        return load_backend(cfg.engine, self.weights, device=cfg.device, precision=precision,
                            options=dict(cfg.engine_options))

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

    def segment_key(self, segment: Segment, *, precision: Precision | None = None) -> str:
        """A hash of everything that determines the segment's frames (video, exemplars, passes, settings, weights).

        ``precision``: the key the same frames have in a session that differs from this one in precision only (the
        engine loaded for it shares this session's weights).
        """
        if precision in (None, self.config.precision):
            engine = self.load_model().fingerprint
        else:  # loaded once per precision: each load reads part of the checkpoint to identify it
            if precision not in self._fingerprints:
                self._fingerprints[precision] = self._backend(precision).fingerprint
            engine = self._fingerprints[precision]
        stat = self.video_path.stat() if self.video_path.is_file() else None
        parts: dict[str, object] = {
            "video": str(self.video_path.resolve()),
            "video_stat": (stat.st_size, stat.st_mtime_ns) if stat else None,
            "frames": self.frame_count,
            "process_size": self.process_size,
            "inference": asdict(self.config.inference),
            "engine": engine,
            "passes": [self._pass_identity(p) for p in segment.passes()],
            "pieces": [(p.start, p.stop, p.ramp, p.smooth, len(p.passes)) for p in segment.pieces],
            "shot": (self._shots[segment.shot].start, self._shots[segment.shot].stop),
        }
        return hashlib.sha256(repr(sorted(parts.items())).encode()).hexdigest()[:24]

    def _pass_identity(self, p: Pass) -> tuple[object, ...]:
        ex = self.exemplars[p.exemplar]
        kind = "reference" if p.borrowed else ex.kind
        held = [(self.exemplars[i].frame, self._digests(self.exemplars[i])[0], self.exemplars[i].kind)
                for i in p.extras]
        digest, references = self._digests(ex)
        return p.anchor, p.forward, digest, kind, references, *held

    def _digests(self, ex: Exemplar) -> tuple[str, tuple[str, ...]]:
        """The content hashes of the exemplar's image and references, hashed once per image (every segment key needs
        them; a 24-megapixel scan takes about 0.2 s)."""
        held = self._hashed.get(ex.frame)
        if held is None or not _same_images(held[0], ex):
            held = self._hashed[ex.frame] = (ex, ex.digest(), tuple(ex.reference_digests()))
        return held[1], held[2]

    def resolve_kind(self, exemplar_index: int) -> tuple[str, float]:
        """The kind an exemplar is used as, and the luminance similarity that decided ``auto`` (NaN otherwise).

        Reads the exemplar's frame with the session's reader: do not call it from another thread while
        :meth:`colorize` runs (``colorize`` resolves the kinds it needs itself).
        """
        ex = self.exemplars[exemplar_index]
        return (ex.kind, math.nan) if ex.kind != "auto" else self._likeness(ex)

    def unlike_keyframes(self) -> list[tuple[int, float]]:
        """The exemplars pinned as ``keyframe`` by hand that do not look like their frame, as ``(frame, luminance
        SSIM)``: a keyframe's colours are laid on its frame pixel for pixel, which goes wrong for another picture
        (``auto`` would have taken it as a reference). Reads each such frame with the session's reader."""
        likeness = [(ex.frame, self._likeness(ex)) for ex in self.exemplars if ex.kind == "keyframe"]
        return [(frame, score) for frame, (kind, score) in likeness if kind == "reference"]

    def _likeness(self, ex: Exemplar) -> tuple[str, float]:
        """What ``ex`` looks like beside its frame, ``keyframe`` or ``reference``, and the luminance similarity that
        says so; kept per frame and image."""
        cache_key = (ex.frame, self._digests(ex)[0])
        if cache_key not in self._kinds:
            kind, score = classify_exemplar(ex.image, self._reader.read(ex.frame))
            logger.info("Exemplar at frame %d looks like a %s (luminance SSIM %.3f)", ex.frame, kind, score)
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
        self, frames: Iterable[int] | None = None, *, cancel: threading.Event | None = None,
        progress: Callable[[int, int], object] | None = None,
    ) -> Generator[FrameResult, None, None]:
        """Colorizes ``frames`` (all when ``None``), yielding each requested frame as it is produced.

        Frames come in processing order: run by run, each from its anchor outwards (see :meth:`plan`); a frame
        fused from two passes comes with the second of them. The generator returns early, between two frames, once
        ``cancel`` is set. ``progress(done, total)`` is told of every model step, the frames computed only to reach
        the requested ones (and first passes) included, so that a progress bar moves while nothing is yielded.

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
                        executor = RunExecutor(self, self.load_model(), stash)
                        for result in executor.run(run, done, total, cancel, yielded):
                            done = result.done
                            if progress is not None:
                                progress(done, total)
                            notice = " ".join(filter(None, (notice, self._reader.take_damage_notice())))
                            if result.index < 0:  # progress through frames that are not yielded
                                continue
                            if notice:
                                result = dataclasses.replace(result, notice=notice)
                                notice = ""
                            yielded.add(result.index)
                            yield result
                        break
                    except DeviceOutOfMemoryError:
                        self.process_size, notice = self._recover_from_oom(self.process_size)
                        total += len(run.frames)  # the run starts again from its anchor
                if cancel is not None and cancel.is_set():
                    return

    def _recover_from_oom(self, process_size: int) -> tuple[int, str]:
        """Frees device memory and picks a smaller processing size, or the CPU once the size reaches its floor."""
        self.load_model().release_memory()
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


def _same_images(a: Exemplar, b: Exemplar) -> bool:
    """Whether two exemplars hold the very same image arrays (not merely equal ones)."""
    return a.image is b.image and len(a.references) == len(b.references) and all(
        x is y for x, y in zip(a.references, b.references, strict=True))
