"""``colormnet colorize``: exemplars in, the colorized film and its record out; the render ``demo`` shares.

The ``-e``/``--extra-reference`` arguments are parsed once into :class:`~colormnet.exemplar_spec.ExemplarSpec`
objects; the same objects name the inputs the output must never replace, are decoded into the session's exemplars
and become the export's record.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colormnet.engines.registry import ENGINES, engine_info
from colormnet.errors import ExemplarError, quote_path, shorten
from colormnet.exemplar_spec import ExemplarSpec, parse_exemplars
from colormnet.fileio import quoted
from colormnet.progress import ProgressBar
from colormnet.shots.model import ShotListError

if TYPE_CHECKING:
    import numpy as np

    from colormnet.session import Exemplar, FrameResult, Session, SessionConfig

logger = logging.getLogger("colormnet")

WRITE_BEHIND = 4
"""Frames queued for the encoder on a GPU (8- or 16-bit RGB at the source's size)."""

DEFAULT_ENGINE = "colormnet"
"""The engine ``colorize`` runs, and the ``weights`` commands serve, without ``--engine``."""


def parse_frame_range(text: str, frame_count: int) -> range:
    """``"A:B"`` (either side optional, B exclusive) or ``"N"`` -> a range within the video.

    Raises:
        ExemplarError: malformed or outside the video.
    """
    try:
        if ":" in text:
            a, b = text.split(":", 1)
            start = int(a) if a.strip() else 0
            stop = int(b) if b.strip() else frame_count
        else:
            start = int(text)
            stop = start + 1
    except ValueError:
        raise ExemplarError(f"Expected --frames A:B (frame numbers), got {shorten(quote_path(text))}.") from None
    if 0 <= stop <= start < frame_count:
        raise ExemplarError(f"--frames {text} holds no frame: A:B runs from frame A up to, not including, B, so B "
                            "must be greater than A.")
    if not 0 <= start < stop <= frame_count:
        raise ExemplarError(f"--frames {text} is outside the video, which has frames 0 to {frame_count - 1}.")
    return range(start, stop)


def frames_text(n: int) -> str:
    """``1 frame``, ``36 frames``: how the messages count frames."""
    return f"{n} frame{'' if n == 1 else 's'}"


def infer_codec(output: Path) -> str:
    """Codec for an output without ``--codec``: H.264 for a movie file name, 8-bit PNG for a folder name."""
    return "h264" if output.suffix else "png"


def shot_list_option(option: str, video: Path, info: Any, cancel: threading.Event) -> list[Any] | None:
    """The shots ``--shots`` asks for: detected (``auto``, cached), none (``off``: one shot) or read from a file."""
    return shots_and_links(option, video, info, cancel, exemplar_frames=None)[0]


def shots_and_links(option: str, video: Path, info: Any, cancel: threading.Event,
                    exemplar_frames: Sequence[int] | None,
                    render_tells_damage: bool = False) -> tuple[list[Any] | None, dict[int, int]]:
    """The shots ``--shots`` asks for, and the links a shot list file chose by hand (``colours_from``).

    Args:
        option: ``auto``, ``off`` or a shot list's path.
        video: the video; info: its :class:`~colormnet.video.VideoInfo`.
        cancel: set to stop the detection (it then raises KeyboardInterrupt).
        exemplar_frames: the exemplars' frames every link must name (None: not checked against exemplars).
        render_tells_damage: a render on this machine follows and tells the damaged frames as it reaches them, so
            the detection leaves them untold (a chunked render does not tell them: the detection does).

    Raises:
        ShotListError: the file is bad, or a link names no exemplar, its own shot, or leaves a shot with its own.
    """
    from colormnet.shots import DetectionCancelledError, check_links, load_shot_file
    from colormnet.shots.command import find_shots
    from colormnet.video.reader import DAMAGE_LOGGER

    if option == "off":
        return None, {}
    if option != "auto":
        read = load_shot_file(option, fps=info.fps, frame_count=info.frame_count)
        if exemplar_frames is not None:
            try:
                check_links(read.shots, read.links, exemplar_frames)
            except ShotListError as exc:
                raise ShotListError(f"{Path(option).name}: {exc}") from None
        return read.shots, read.links
    damage = logging.getLogger(DAMAGE_LOGGER)
    if render_tells_damage:  # once, not twice
        damage.addFilter(_told_by_the_render)
    try:
        return find_shots(video, info.frame_count, cancel=cancel), {}
    except DetectionCancelledError:
        raise KeyboardInterrupt from None
    finally:
        damage.removeFilter(_told_by_the_render)


def _told_by_the_render(record: logging.LogRecord) -> bool:
    return False


def _shot_summary(session: Session, rendered: range | None = None) -> list[str]:
    """One line per shot (of those that meet the ``rendered`` frames) saying where its colours come from (nothing for
    a video of one shot)."""
    sources = session.shot_sources()
    if len(sources) < 2:
        return []
    frames = [ex.frame for ex in session.exemplars]
    lines = []
    for src in sources:
        if rendered is not None and not (src.start < rendered.stop and rendered.start < src.stop):
            continue
        head = f"shot {src.shot + 1} (frames {src.start}-{src.stop - 1}): "
        if src.how == "own":
            own = [str(frames[i]) for i in src.own]
            lines.append(head + (f"exemplar at frame {own[0]}" if len(own) == 1 else
                                 f"exemplars at frames {', '.join(own)}"))
        elif src.borrowed is not None:
            why = {"linked": "linked by hand", "similar": f"the most similar set-up, {src.similarity:.2f}",
                   "nearest": "no shot looks alike: the nearest in time"}[src.how]
            lines.append(head + f"borrows the exemplar at frame {frames[src.borrowed]} as a reference ({why})")
        else:
            lines.append(head + "no exemplar")
    return lines


def load_exemplar(spec: ExemplarSpec) -> Exemplar:
    """Decodes a spec's image and references into the session's exemplar.

    Raises:
        ExemplarError: an image is missing, unreadable or grayscale.
    """
    from colormnet.exemplar import load_exemplar_image
    from colormnet.session import Exemplar

    references = tuple(load_exemplar_image(path) for path in spec.references)
    return Exemplar(frame=spec.frame, image=load_exemplar_image(spec.image), kind=spec.kind, name=spec.image.name,
                    references=references)


def cmd_colorize(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet colorize``; returns the exit code."""
    specs = parse_exemplars(args.exemplar, args.extra_reference, args.kind)
    return render(args, cancel, specs, load_exemplar)


def session_config(args: argparse.Namespace) -> SessionConfig:
    """The session settings the render options ask for.

    Raises:
        ExemplarError: engine options given to an engine that takes none, or ``--transition memory`` to an engine
            that holds one exemplar at a time.
    """
    from colormnet.config import InferenceConfig
    from colormnet.session import SessionConfig

    if args.framing and not engine_info(args.engine).options:
        with_options = ", ".join(name for name, info in ENGINES.items() if info.options)
        raise ExemplarError(f"--framing applies to the {with_options} engine only.")
    if args.transition == "memory" and not engine_info(args.engine).holds_several_exemplars:
        # the session refuses it too, but only once the shots are known: on a long film, after minutes of detection
        raise ExemplarError(f"The {args.engine} engine holds one exemplar at a time: use --transition blend or cut.")
    return SessionConfig(
        engine=args.engine,
        engine_options=(("framing", args.framing),) if args.framing else (),
        device=args.device,
        precision=args.precision,
        process_size=args.process_size,
        inference=InferenceConfig(mem_every=args.mem_every, top_k=args.top_k),
        transition=args.transition,
        sequence_fps=getattr(args, "fps", None),
    )


def render(args: argparse.Namespace, cancel: threading.Event, specs: Sequence[ExemplarSpec],
           load: Callable[[ExemplarSpec], Exemplar]) -> int:
    """Colorizes ``args.input`` into ``args.output`` from ``specs`` (each decoded by ``load``), with its record.

    Every file a spec names is an input the output and its record must never replace; the record names them with
    their content hashes.
    """
    from colormnet.sidecar import check_sidecar
    from colormnet.video import CODECS, check_output_path

    source, output = Path(args.input), Path(args.output)
    if getattr(args, "workers", None) is not None and not getattr(args, "cluster", None):
        raise ExemplarError("--workers applies to --cluster runs only.")
    if getattr(args, "fps", None) is not None and not source.is_dir():
        raise ExemplarError(f"--fps sets the frame rate of an image sequence (a folder of frames); "
                            f"{quote_path(source.name)} is a video file and keeps its own timing.")
    codec = args.codec or infer_codec(output)
    shot_file = [Path(args.shots)] if args.shots not in ("auto", "off") else []
    weights = [Path(args.weights).expanduser()] if args.weights else []
    protected = [source, *(path for spec in specs for path in spec.files), *weights, *shot_file]
    check_output_path(output, inputs=protected, codec=codec, overwrite=args.overwrite)
    check_sidecar(output, args.overwrite, folder=not CODECS[codec].extensions, inputs=protected)
    exemplars = [load(spec) for spec in specs]
    config = session_config(args)
    _note_unused_options(args)
    if getattr(args, "cluster", None) or getattr(args, "work_dir", None):
        from colormnet.cli.cluster import colorize_chunked

        return colorize_chunked(args, cancel, exemplars=exemplars, config=config, codec=codec, specs=specs)
    return _render_here(args, cancel, exemplars, config, codec, specs)


def _note_unused_options(args: argparse.Namespace) -> None:
    """A note for each option the engine does not use (the render goes on without it)."""
    info = engine_info(args.engine)
    unused = []
    if args.weights and not info.needs_weights:
        unused.append(("takes no weights", "--weights"))
    if args.precision in ("fp16", "bf16") and not info.reduced_precision:
        unused.append(("computes in fp32", f"--precision {args.precision}"))
    if args.device == "cuda" and info.cpu_only:
        unused.append(("computes on the CPU", "--device cuda"))
    for what, option in unused:
        print(f"Note: the {args.engine} engine {what}: {option} is not used.", file=sys.stderr)


def encode_frame(result: FrameResult, bit_depth: int) -> np.ndarray:
    """A colorized frame as the writer takes it: 16-bit RGB for a codec of more than 8 bits, else 8-bit."""
    return result.to_uint16() if bit_depth > 8 else result.to_uint8()


def _render_here(args: argparse.Namespace, cancel: threading.Event, exemplars: list[Exemplar],
                 config: SessionConfig, codec: str, specs: Sequence[ExemplarSpec]) -> int:
    """The render on this machine, frame by frame, then the record beside the output."""
    from colormnet.io_threads import WriteBehind
    from colormnet.session import Session
    from colormnet.session.run import pipelined
    from colormnet.sidecar import build_record, exemplar_files, write_sidecar
    from colormnet.spool import in_frame_order
    from colormnet.video import CODECS, VideoWriter

    source, output = Path(args.input), Path(args.output)
    with Session(source, weights=args.weights, config=config) as session:
        session.set_exemplars(exemplars)
        info = session.video_info
        frames = parse_frame_range(args.frames, info.frame_count) if args.frames else range(info.frame_count)
        model = session.load_model()
        if model.is_random:
            print(f"Note: the {model.name} engine runs with RANDOM weights (for tests and demos): the colours are "
                  "meaningless.", file=sys.stderr)
        if CODECS[codec].is_image_sequence and info.has_audio and not args.no_audio:
            print(f"Note: {codec} frames carry no sound: the source's audio is not in the output (a movie format "
                  "keeps it).", file=sys.stderr)
        for frame, score in session.unlike_keyframes():
            print(f"Warning: the exemplar pinned as a keyframe at frame {frame} does not look like that frame "
                  f"(luminance similarity {score:.2f}); a keyframe's colours are laid on its frame pixel for pixel: "
                  "pin it as :reference if it shows another picture.", file=sys.stderr)
        frames_with_exemplars = [ex.frame for ex in session.exemplars]
        session.set_shots(*shots_and_links(args.shots, source, info, cancel, frames_with_exemplars,
                                           render_tells_damage=True))
        for line in _shot_summary(session, frames):
            print(line, file=sys.stderr)
        _log_segments(session)
        bit_depth = CODECS[codec].bit_depth
        total = session.count_steps(frames)
        with ProgressBar(total, "colorizing") as bar:
            bar.update(0)  # on screen from the start: the frames computed to reach a range count too

            def convert(result: FrameResult) -> np.ndarray:
                if result.notice:
                    print(f"\n{result.notice}", file=sys.stderr)
                return encode_frame(result, bit_depth)

            def progress(done: int, steps: int) -> None:
                bar.total = steps  # grows if the run starts again smaller (the GPU ran out of memory)
                bar.update(done)

            # closed at once on a failure: the run's read-ahead thread stops and the spool folder goes
            with closing(session.colorize(frames, cancel=cancel, progress=progress)) as results:
                writer = VideoWriter(output, codec, width=info.width, height=info.height, source=session.reader,
                                     frame_indices=list(frames), audio=not args.no_audio, overwrite=args.overwrite)
                # on a GPU the frames are encoded on a thread of their own, behind the model
                with writer, WriteBehind(writer.write, WRITE_BEHIND if pipelined(model) else 0) as sink, closing(
                        in_frame_order(results, frames, index=lambda r: r.index, convert=convert,
                                       workdir=writer.work_folder)) as ordered:
                    written = 0
                    for _, rgb in ordered:
                        if cancel.is_set():
                            break
                        sink.put(rgb)
                        written += 1
                    if cancel.is_set() or written != len(frames):
                        raise KeyboardInterrupt
            bar.close(bar.total if bar.total is not None else total)
        record = build_record(session, output=output, codec=codec, frames=frames,
                              exemplar_files=exemplar_files(session, specs))
    write_sidecar(output, record, folder=not CODECS[codec].extensions)
    print(f"Wrote {quoted(output)} ({frames_text(len(frames))}, {codec}).", file=sys.stderr)
    return 0


def _log_segments(session: Session) -> None:
    """Logs (``-v``) which exemplar colours which frames, and as what."""
    for seg in session.segments():
        kind, score = session.resolve_kind(seg.exemplar)
        how = f" (luminance SSIM {score:.2f})" if session.exemplars[seg.exemplar].kind == "auto" else ""
        logger.info("frames %d-%d: exemplar at frame %d as %s%s", seg.start, seg.stop - 1,
                    session.exemplars[seg.exemplar].frame, "reference" if seg.borrowed else kind, how)
