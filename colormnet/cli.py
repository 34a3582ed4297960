"""The ``colormnet`` command line: colorize, info and weights, over the same session API as the GUI.

Every error a user can cause ends the program with one line on stderr and a non-zero exit code, never a traceback;
outputs appear under their final name only when complete. Ctrl+C and SIGTERM at any moment, start-up included, end
it with one line and exit status 130 or 143 (:mod:`colormnet.interrupts`); this module therefore imports only light
modules at the top, the heavy ones (numpy, torch, PyAV) where they are used.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from colormnet import __version__, interrupts
from colormnet.errors import ColorMNetError, ExemplarError, OutputError, UsageError, one_line, quote_path, shorten
from colormnet.fileio import describe_os_error, owned_temp_file, quoted
from colormnet.plan import TRANSITIONS
from colormnet.progress import ProgressBar, format_duration

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger("colormnet")

EXIT_ERROR = 1
EXIT_CANCELLED = 130
KINDS = ("auto", "keyframe", "reference")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")  # more digits than that is no count of frames or pixels


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
    if not 0 <= start < stop <= frame_count:
        raise ExemplarError(f"--frames {text} is outside the video, which has frames 0 to {frame_count - 1}.")
    return range(start, stop)


def split_kind(spec: str, default: str) -> tuple[str, str]:
    """``IMAGE@FRAME[:KIND]`` -> (``IMAGE@FRAME``, kind)."""
    head, sep, tail = spec.rpartition(":")
    if sep and tail in KINDS and "@" in head:
        return head, tail
    return spec, default


def infer_codec(output: Path) -> str:
    """Codec for an output without ``--codec``: H.264 for a movie file name, 8-bit PNG for a folder name."""
    return "h264" if output.suffix else "png"


# -- subcommands -----------------------------------------------------------------------------------------------


def cmd_info(args: argparse.Namespace) -> int:
    from colormnet.video import probe

    info = probe(args.input)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    print(f"{info.path}")
    print(f"  frames     {info.frame_count}")
    fps = f"{float(info.fps):.3f} ({info.fps.numerator}/{info.fps.denominator})"
    print(f"  fps        {fps}{'  variable frame rate' if info.variable_frame_rate else ''}")
    print(f"  size       {info.width}x{info.height}, {info.bits_per_component}-bit")
    if info.rotation:
        print(f"  rotation   shown turned {(360 - info.rotation) % 360} degrees clockwise (kept on export)")
    print(f"  duration   {format_duration(info.duration)} ({info.duration:.3f} s)")
    for s in info.streams:
        print(f"  stream {s.index}   {s.kind}: {s.description}")
    return 0


def cmd_extract_frame(args: argparse.Namespace) -> int:
    from colormnet.output_guard import refuse_inside, refuse_protected
    from colormnet.video import VideoReader
    from colormnet.video.still import STILL_SUFFIXES, write_still

    output = Path(args.output)
    if output.suffix.lower() not in STILL_SUFFIXES:
        raise OutputError(f"Give the still a .png, .tif or .jpg name, not {quote_path(output.name)}.")
    refuse_protected([output], [Path(args.input)])
    refuse_inside(output, Path(args.input))
    if output.exists() and not args.overwrite:
        raise OutputError(f"The output {quoted(output)} already exists; choose another name or pass --overwrite.")
    with VideoReader(args.input) as reader:
        n = reader.info.frame_count
        if not 0 <= args.frame < n:
            raise ExemplarError(f"Frame {args.frame} is out of range: the video has frames 0 to {n - 1}.")
        rgb = reader.read_upright(args.frame)  # the frame as a player shows it
    write_still(rgb, output)
    print(f"Wrote frame {args.frame} to {quoted(output)}.", file=sys.stderr)
    return 0


def _load_exemplars(specs: Sequence[str], default_kind: str, extra: Sequence[str] = ()) -> list:
    """The ``-e`` exemplars, each with the ``--extra-reference`` images pinned at its frame.

    Raises:
        ExemplarError: an unreadable or grayscale image, or an extra reference at a frame without ``-e`` exemplar.
    """
    from colormnet.exemplar import load_exemplar_image, parse_exemplar_spec
    from colormnet.session import Exemplar

    references = _group_extra_references(extra)
    exemplars = []
    for spec in specs:
        body, kind = split_kind(spec, default_kind)
        path, frame = parse_exemplar_spec(body)
        images = tuple(load_exemplar_image(p) for p in references.pop(frame, []))
        exemplars.append(Exemplar(frame=frame, image=load_exemplar_image(path), kind=kind, name=path.name,  # type: ignore[arg-type]
                                  references=images))
    if references:
        frame = min(references)
        raise ExemplarError(f"--extra-reference {quote_path(references[frame][0])}@{frame}: no -e exemplar is pinned "
                            f"to frame {frame}.")
    return exemplars


def _group_extra_references(specs: Sequence[str]) -> dict[int, list[Path]]:
    """``IMAGE@FRAME`` arguments -> the image paths per frame, in the given order."""
    from colormnet.exemplar import parse_exemplar_spec

    grouped: dict[int, list[Path]] = {}
    for spec in specs:
        path, frame = parse_exemplar_spec(spec)
        grouped.setdefault(frame, []).append(path)
    return grouped


def shot_list_option(option: str, video: Path, info: Any, cancel: threading.Event) -> list[Any] | None:
    """The shots ``--shots`` asks for: detected (``auto``, cached), none (``off``: one shot) or read from a file.

    Args:
        option: ``auto``, ``off`` or a shot list's path.
        video: the video; info: its :class:`~colormnet.video.VideoInfo`.
        cancel: set to stop the detection (it then raises KeyboardInterrupt).
    """
    from colormnet.shots import DetectionCancelledError, load_shot_list, shots_for_video

    if option == "off":
        return None
    if option != "auto":
        return load_shot_list(option, fps=info.fps, frame_count=info.frame_count)
    bar = ProgressBar(info.frame_count, "finding shots", stream=sys.stderr)
    try:
        shots = shots_for_video(video, progress=lambda done, total: bar.update(done), cancel=cancel)
    except DetectionCancelledError:
        raise KeyboardInterrupt from None
    bar.close(info.frame_count)
    return shots


def _shot_summary(session: Any) -> list[str]:
    """One line per shot saying where its colours come from (nothing for a video of one shot)."""
    sources = session.shot_sources()
    if len(sources) < 2:
        return []
    frames = [ex.frame for ex in session.exemplars]
    lines = []
    for src in sources:
        head = f"shot {src.shot + 1} (frames {src.start}-{src.stop - 1}): "
        if src.how == "own":
            lines.append(head + "exemplars at frames " + ", ".join(str(frames[i]) for i in src.own))
        elif src.borrowed is not None:
            why = {"linked": "linked by hand", "similar": f"the most similar set-up, {src.similarity:.2f}",
                   "nearest": "no shot looks alike: the nearest in time"}[src.how]
            lines.append(head + f"borrows the exemplar at frame {frames[src.borrowed]} as a reference ({why})")
        else:
            lines.append(head + "no exemplar")
    return lines


def cmd_colorize(args: argparse.Namespace, cancel: threading.Event) -> int:
    from colormnet.config import InferenceConfig
    from colormnet.exemplar import parse_exemplar_spec
    from colormnet.session import FrameResult, Session, SessionConfig
    from colormnet.sidecar import build_record, check_sidecar, write_sidecar
    from colormnet.spool import in_frame_order
    from colormnet.video import CODECS, VideoWriter, check_output_path

    source = Path(args.input)
    output = Path(args.output)
    codec = args.codec or infer_codec(output)
    pinned = [parse_exemplar_spec(split_kind(s, args.kind)[0]) for s in args.exemplar]  # (path, frame)
    references = _group_extra_references(args.extra_reference)
    exemplar_paths = [path for path, _ in pinned] + [path for paths in references.values() for path in paths]
    files = {frame: (path, references.get(frame, [])) for path, frame in pinned}  # for the export's record
    shot_file = [Path(args.shots)] if args.shots not in ("auto", "off") else []
    weights = [Path(args.weights).expanduser()] if args.weights else []
    protected = [source, *exemplar_paths, *weights, *shot_file]
    check_output_path(output, inputs=protected, codec=codec, overwrite=args.overwrite)
    check_sidecar(output, args.overwrite, folder=not CODECS[codec].extensions, inputs=protected)
    exemplars = _load_exemplars(args.exemplar, args.kind, args.extra_reference)
    if args.framing and args.engine != "deepexemplar":
        raise ExemplarError("--framing applies to the deepexemplar engine only.")
    config = SessionConfig(
        engine=args.engine,
        engine_options=(("framing", args.framing),) if args.framing else (),
        device=args.device,
        precision=args.precision,
        process_size=args.process_size,
        inference=InferenceConfig(mem_every=args.mem_every, top_k=args.top_k),
        transition=args.transition,
    )
    if getattr(args, "cluster", None) or getattr(args, "work_dir", None):
        from colormnet.cluster.cli import colorize_chunked

        return colorize_chunked(args, cancel, exemplars=exemplars, config=config, codec=codec)
    with Session(source, weights=args.weights, config=config) as session:
        session.set_exemplars(exemplars)
        info = session.video_info
        frames = parse_frame_range(args.frames, info.frame_count) if args.frames else range(info.frame_count)
        model = session.load_model()
        if model.is_random:
            print(f"Note: the {model.name} engine runs with RANDOM weights (for tests and demos): the colours are "
                  "meaningless.", file=sys.stderr)
        session.set_shots(shot_list_option(args.shots, source, info, cancel))
        for line in _shot_summary(session):
            print(line, file=sys.stderr)
        for seg in session.segments():
            kind, score = session.resolve_kind(seg.exemplar)
            how = f" (luminance SSIM {score:.2f})" if session.exemplars[seg.exemplar].kind == "auto" else ""
            logger.info("frames %d-%d: exemplar at frame %d as %s%s", seg.start, seg.stop - 1,
                        session.exemplars[seg.exemplar].frame, "reference" if seg.borrowed else kind, how)
        spec = CODECS[codec]
        total = session.count_steps(frames)
        bar = ProgressBar(total, "colorizing", stream=sys.stderr)
        done = 0

        def convert(result: FrameResult) -> np.ndarray:
            nonlocal done
            done = result.done
            if result.notice:
                print(f"\n{result.notice}", file=sys.stderr)
            bar.update(done)
            return result.to_uint16() if spec.bit_depth > 8 else result.to_uint8()

        results = session.colorize(frames, cancel=cancel)
        writer = VideoWriter(output, codec, width=info.width, height=info.height, source=session.reader,
                             frame_indices=list(frames), audio=not args.no_audio, overwrite=args.overwrite)
        with writer:
            ordered = in_frame_order(results, frames, index=lambda r: r.index, convert=convert,
                                     workdir=writer.work_folder)
            written = 0
            for _, rgb in ordered:
                if cancel.is_set():
                    break
                writer.write(rgb)
                written += 1
            if cancel.is_set() or written != len(frames):
                raise KeyboardInterrupt
        bar.close(total)
        record = build_record(session, output=output, codec=codec, frames=frames,
                              exemplar_files=[files[ex.frame] for ex in session.exemplars])
    write_sidecar(output, record, folder=not CODECS[codec].extensions)
    print(f"Wrote {quoted(output)} ({len(frames)} frames, {codec}).", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, cancel: threading.Event) -> int:
    from colormnet.demo import demo_engine, demo_exemplar, demo_video_path

    video = demo_video_path()
    engine = args.engine or demo_engine(args.weights)
    print(f"Demo: {video.name} as a black-and-white film, frame 0's true colours pinned as a keyframe; "
          f"engine {engine}.", file=sys.stderr)
    import numpy as np
    from PIL import Image

    from colormnet.video import check_output_path

    output = Path(args.output)
    check_output_path(output, inputs=[video], codec=infer_codec(output), overwrite=args.overwrite)
    still = owned_temp_file(Path(args.output).with_suffix(".png"))  # a new name: nothing of the user's is replaced
    try:
        Image.fromarray((demo_exemplar(video).image * 255 + 0.5).astype(np.uint8)).save(still)
        argv = ["colorize", str(video), "-e", f"{still}@0:keyframe", "-o", args.output, "--engine", engine]
        argv += ["--weights", args.weights] if args.weights else []
        argv += ["--overwrite"] if args.overwrite else []
        argv += ["--process-size", str(args.process_size)]
        return cmd_colorize(build_parser().parse_args(argv), cancel)
    finally:
        still.unlink(missing_ok=True)


def cmd_weights(args: argparse.Namespace, cancel: threading.Event) -> int:
    from colormnet.engines.colormnet import weights

    deep = getattr(args, "engine", "colormnet") == "deepexemplar"
    if deep:
        from colormnet.engines import deepexemplar
    if args.weights_command == "download":
        print(deepexemplar.WEIGHTS_LICENCE if deep else weights.WEIGHTS_LICENCE, file=sys.stderr)
        bar = ProgressBar(None, "downloading", unit="MB/s", scale=1e6, stream=sys.stderr)

        def progress(done: int, total: int | None) -> None:
            bar.total = total
            bar.update(done)

        if deep:
            path = deepexemplar.download_weights(args.dest, progress=progress, cancel=cancel)
            bar.close(bar.last_done or 0)
            print(f"Saved the Deep Exemplar weights in {path}.", file=sys.stderr)
            return 0
        dest = Path(args.dest) if args.dest else weights.resolve_weights_path(None)
        path = weights.download_weights(dest, progress=progress, cancel=cancel)
        bar.close(path.stat().st_size)
        print(f"Saved the ColorMNet weights to {path}.", file=sys.stderr)
        return 0
    if args.weights_command == "init-random":
        existing = [Path(args.path) / name for name in deepexemplar.WEIGHT_FILES] if deep else [Path(args.path)]
        taken = next((path for path in existing if path.exists()), None)
        if taken is not None and not args.overwrite:
            raise OutputError(f"{quoted(taken)} already exists (perhaps real weights); choose another path or pass "
                              "--overwrite.")
        save = deepexemplar.save_random_weights if deep else weights.save_random_weights
        path = save(args.path, seed=args.seed)
        print(f"Wrote RANDOM weights (seed {args.seed}) to {path}: for tests and demos, the colours are meaningless.",
              file=sys.stderr)
        return 0
    if deep:
        folder = Path(args.weights) if args.weights else deepexemplar.default_weights_dir()
        missing = [name for name in deepexemplar.WEIGHT_FILES if not (folder / name).is_file()]
        state = "present" if not missing else "missing (run `colormnet weights download --engine deepexemplar`)"
        print(f"{folder}  [{state}]")
        return 0
    path = weights.resolve_weights_path(args.weights)
    state = "present" if path.is_file() else "missing (run `colormnet weights download`)"
    print(f"{path}  [{state}]")
    return 0


# -- parser ----------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 1 like every other error, not usage and 2."""

    def error(self, message: str) -> NoReturn:
        """Raises the mistake as a UsageError naming the subcommand's help (argparse prints the usage instead)."""
        raise UsageError(f"{one_line(message)} (see `{self.prog} --help`).")


def _whole_number(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``, or an error saying so."""

    def parse(text: str) -> int:
        if not _WHOLE_NUMBER.fullmatch(text.strip()):
            raise argparse.ArgumentTypeError(
                f"expected a whole number of at least {least}, got {shorten(quote_path(text))}"
            )
        value = int(text)
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    from colormnet.engines import available_engines
    from colormnet.video import CODECS

    parser = _Parser(prog="colormnet", description="Exemplar-based colorization of black-and-white film.")
    parser.add_argument("--version", action="version", version=f"colormnet {__version__}")
    common = _Parser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("colorize", parents=[common], help="colorize a video or an image sequence from exemplars")
    p.add_argument("input", help="video file or folder of numbered images")
    p.add_argument("-e", "--exemplar", action="append", required=True, metavar="IMAGE@FRAME[:KIND]",
                   help="a colour image pinned to a frame (repeat for several); KIND overrides --kind for this one")
    p.add_argument("--extra-reference", action="append", default=[], metavar="IMAGE@FRAME",
                   help="deepexemplar only: a further colour image matched jointly with the -e exemplar at FRAME "
                   "(repeat for several)")
    p.add_argument("-o", "--output", required=True, help="output file, or folder for an image-sequence codec")
    p.add_argument("--codec", choices=sorted(CODECS), help="default: h264 for a file name, png for a folder")
    p.add_argument("--frames", metavar="A:B", help="only frames A to B-1 (default: all)")
    p.add_argument("--kind", choices=KINDS, default="auto",
                   help="keyframe: the exemplar is that frame colorized; reference: any colour photo (default auto)")
    p.add_argument("--engine", choices=available_engines(), default="colormnet",
                   help="colormnet: the memory network (needs its weights); propagate: no weights, fast; "
                   "deepexemplar: Zhang et al. 2019 (needs its weights)")
    p.add_argument("--framing", choices=("fit", "official"),
                   help="deepexemplar only: fit (every pixel, default) or official (the reference's cover-crop)")
    p.add_argument("--weights", help="checkpoint path (default: $COLORMNET_WEIGHTS or the per-user data folder)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--precision", choices=("auto", "fp32", "fp16", "bf16"), default="auto",
                   help="auto: fp16 autocast on CUDA, fp32 on the CPU; bf16: autocast on CUDA or the CPU")
    p.add_argument("--process-size", type=_whole_number(16), default=540, metavar="N",
                   help="cap on the short side at which the model runs (default 540, at least 16)")
    p.add_argument("--mem-every", type=_whole_number(1), default=5, help=argparse.SUPPRESS)
    p.add_argument("--top-k", type=_whole_number(1), default=30, help=argparse.SUPPRESS)
    p.add_argument("--shots", default="auto", metavar="auto|off|FILE",
                   help="shots bound the memory: auto (found in the video, cached), off (one shot), or a shot list "
                        "(JSON, CSV or EDL as `colormnet shots` writes)")
    p.add_argument("--transition", choices=TRANSITIONS, default="blend",
                   help="how two exemplars of one shot meet: blend (a forward and a backward pass fused smoothly) "
                        "or cut (each exemplar up to the next)")
    p.add_argument("--no-audio", action="store_true", help="do not copy the source's audio")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    from colormnet.cluster.cli import add_arguments as add_cluster_arguments

    add_cluster_arguments(p)

    p = sub.add_parser("info", parents=[common], help="describe a video or image sequence")
    p.add_argument("input")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("demo", parents=[common], help="colorize the bundled demo clip from its first frame's colours")
    p.add_argument("output", help="output video (H.264), e.g. demo.mp4")
    p.add_argument("--engine", choices=available_engines(),
                   help="default: colormnet when its weights are installed, else propagate")
    p.add_argument("--weights", help="ColorMNet checkpoint path")
    p.add_argument("--process-size", type=_whole_number(16), default=540, metavar="N", help=argparse.SUPPRESS)
    p.add_argument("--overwrite", action="store_true")

    p = sub.add_parser("extract-frame", parents=[common],
                       help="save one frame as an image (to colorize elsewhere and pin back as a keyframe)")
    p.add_argument("input")
    p.add_argument("frame", type=_whole_number(0))
    p.add_argument("-o", "--output", required=True, help="a .png, .tif or .jpg file")
    p.add_argument("--overwrite", action="store_true")

    from colormnet.evaluate import add_eval_parser

    add_eval_parser(sub, [common])
    from colormnet.shots.command import add_shots_parser

    add_shots_parser(sub, [common])

    p = sub.add_parser("weights", parents=[common], help="download, locate or create checkpoints")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    with_weights = [e for e in available_engines() if e != "propagate"]
    d = wsub.add_parser("download", help="download the official weights (licence shown first)")
    d.add_argument("--dest", help="where to save them (default: $COLORMNET_WEIGHTS or the per-user data folder)")
    r = wsub.add_parser("init-random", help="write randomly initialised weights (tests and demos)")
    r.add_argument("path", help="a file (colormnet) or a folder (deepexemplar)")
    r.add_argument("--seed", type=_whole_number(0), default=0)
    r.add_argument("--overwrite", action="store_true", help="replace existing weights")
    w = wsub.add_parser("path", help="show where the weights are looked for")
    w.add_argument("--weights")
    for sp in (d, r, w):
        sp.add_argument("--engine", choices=with_weights, default="colormnet")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit code (see :func:`entry` for interruptions during start-up)."""
    cancel = threading.Event()
    verbose = False
    try:
        args = build_parser().parse_args(argv)
        verbose = args.verbose
        logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s: %(message)s")
        if args.command == "info":
            return cmd_info(args)
        if args.command == "extract-frame":
            return cmd_extract_frame(args)
        if args.command == "demo":
            return cmd_demo(args, cancel)
        if args.command == "eval":
            from colormnet.evaluate import cmd_eval

            return cmd_eval(args)
        if args.command == "shots":
            from colormnet.shots.command import cmd_shots

            return cmd_shots(args, cancel)
        if args.command == "colorize":
            return cmd_colorize(args, cancel)
        return cmd_weights(args, cancel)
    except KeyboardInterrupt as exc:
        cancel.set()
        print(f"\n{interrupts.what_stopped(exc)}: nothing was written under the output name.", file=sys.stderr)
        return interrupts.exit_status(exc)
    except ColorMNetError as exc:
        return _fail(str(exc))
    except OSError as exc:  # e.g. disk full while writing: still one line
        return _fail(describe_os_error(exc))
    except MemoryError:
        return _fail("Out of memory: close other programs, or lower --process-size or the exemplars' size.")
    except Exception as exc:  # a bug: one line that says so, the traceback under -v
        if verbose:
            traceback.print_exc(file=sys.stderr)
        hint = "" if verbose else "; run with -v for details"
        return _fail(f"unexpected {type(exc).__name__}: {exc} (a bug in colormnet{hint}).")


def _fail(message: str) -> int:
    """Prints an error as one line on stderr; returns the exit code for errors."""
    print(f"colormnet: error: {one_line(message)}", file=sys.stderr)
    return EXIT_ERROR


def entry() -> None:
    """Console-script entry point: Ctrl+C or SIGTERM from the first moment on ends with one line, 130 or 143."""
    try:
        interrupts.install()  # inside: a signal landing while it installs is handled below too
        if hasattr(signal, "SIGPIPE"):
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        code = main()
    except KeyboardInterrupt as exc:  # during start-up (imports, parsing), before main() guards the work
        print(f"\n{interrupts.what_stopped(exc)} while starting: nothing was written.", file=sys.stderr)
        code = interrupts.exit_status(exc)
    sys.exit(code)


if __name__ == "__main__":
    entry()
