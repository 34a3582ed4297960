"""The small commands: ``info`` (what a video is), ``extract-frame`` (one frame as a still) and ``demo``."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path

from colormnet.cli.colorize import DEFAULT_ENGINE, infer_codec, render
from colormnet.engines.registry import engine_info
from colormnet.errors import ExemplarError, OutputError, quote_path
from colormnet.exemplar_spec import ExemplarSpec
from colormnet.fileio import quoted
from colormnet.interrupts import stop_if_cancelled
from colormnet.progress import format_duration


def cmd_info(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet info``: the video's frames, rate, size, rotation, duration and streams (or JSON)."""
    from colormnet.video import probe

    info = probe(args.input)
    stop_if_cancelled(cancel)  # a signal PyAV's demuxer swallowed while it indexed the video
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    print(f"{info.path}")
    print(f"  frames     {info.frame_count}")
    fps = f"{float(info.fps):.3f} ({info.fps.numerator}/{info.fps.denominator})"
    if info.is_image_sequence:
        fps += ", assumed: images carry no frame rate (colorize --fps sets one)"
    print(f"  fps        {fps}{'  variable frame rate' if info.variable_frame_rate else ''}")
    print(f"  size       {info.width}x{info.height}, {info.bits_per_component}-bit")
    if info.rotation:
        print(f"  rotation   shown turned {(360 - info.rotation) % 360} degrees clockwise (kept on export)")
    print(f"  duration   {format_duration(info.duration)} ({info.duration:.3f} s)")
    for s in info.streams:
        print(f"  stream {s.index}   {s.kind}: {s.description}")
    return 0


def cmd_extract_frame(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet extract-frame``: one frame, upright as a player shows it, as a PNG, TIFF or JPEG still."""
    from colormnet.output_guard import check_output_folder, refuse_inside, refuse_protected
    from colormnet.video import VideoReader
    from colormnet.video.still import STILL_SUFFIXES, write_still

    output = Path(args.output)
    if output.suffix.lower() not in STILL_SUFFIXES:
        raise OutputError(f"Give the still a .png, .tif or .jpg name, not {quote_path(output.name)}.")
    refuse_protected([output], [Path(args.input)])
    refuse_inside(output, Path(args.input))
    if output.exists() and not args.overwrite:
        raise OutputError(f"The output {quoted(output)} already exists; choose another name or pass --overwrite.")
    check_output_folder(output)
    with VideoReader(args.input) as reader:
        stop_if_cancelled(cancel)  # a signal PyAV's demuxer swallowed while it indexed the video
        n = reader.info.frame_count
        if not 0 <= args.frame < n:
            raise ExemplarError(f"Frame {args.frame} is out of range: the video has frames 0 to {n - 1}.")
        rgb = reader.read_upright(args.frame)  # the frame as a player shows it
    stop_if_cancelled(cancel)  # or while it sought and decoded the frame
    write_still(rgb, output)
    print(f"Wrote frame {args.frame} to {quoted(output)}.", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet demo``: the bundled clip, its frame 0's true colours pinned as a keyframe, rendered.

    The exemplar goes to the render as it is read from the clip (no image file in between); the export's record
    names the clip as the exemplar's file, since its colours are the clip's own frame 0.
    """
    from colormnet.demo import demo_engine, demo_exemplar, demo_video_path
    from colormnet.video import check_output_path

    video = demo_video_path()
    args.input = str(video)
    output = Path(args.output)  # refused before the engine is chosen (which imports torch) and anything is said
    check_output_path(output, inputs=[video], codec=args.codec or infer_codec(output), overwrite=args.overwrite)
    why = ""
    if args.engine is None:
        args.engine = demo_engine(args.weights)
        label = engine_info(DEFAULT_ENGINE).label
        if args.engine != DEFAULT_ENGINE and args.weights:  # the checkpoint named is not there
            why, args.weights = f" (no {label} weights at {quoted(args.weights)})", None
        elif args.engine != DEFAULT_ENGINE:  # chosen because the ColorMNet checkpoint is not there
            why = (f" (the {label} weights are not installed: `colormnet weights download` fetches them, or pass "
                   "--weights)")
    print(f"Demo: {video.name} as a black-and-white film, frame 0's true colours pinned as a keyframe; "
          f"engine {args.engine}{why}.", file=sys.stderr)
    spec = ExemplarSpec(video, 0, "keyframe")
    return render(args, cancel, [spec], lambda _: demo_exemplar(video))
