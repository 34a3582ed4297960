"""``colormnet shots INPUT``: the shots of a video, as a table, JSON, CSV or EDL.

The table (or, with ``--json``, only the JSON ``{"shots": [...]}``) goes to standard output; progress of a
detection goes to standard error. ``--csv FILE`` and ``--edl FILE`` also write the list to files (atomically; an
existing file is replaced only with ``--overwrite``). Detection results are cached per user, keyed by the video.
"""

from __future__ import annotations

import argparse
import json
import threading
from pathlib import Path
from typing import Any

from colormnet.errors import OutputError
from colormnet.interrupts import stop_if_cancelled
from colormnet.output_guard import check_output_folder
from colormnet.progress import ProgressBar
from colormnet.shots.cache import shots_for_video
from colormnet.shots.detect import DEFAULT_DETECTOR, DETECTORS
from colormnet.shots.formats import save_shot_list, shot_record
from colormnet.shots.model import Shot, timecode
from colormnet.video import probe

#: Fields of each shot in ``--json`` output.
JSON_FIELDS = ("start", "stop", "boundary", "start_timecode", "transition")


def add_shots_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Adds the ``shots`` command to the CLI's subparsers."""
    p = sub.add_parser("shots", parents=parents, help="find the shots of a video (cuts, dissolves, fades)")
    p.add_argument("input", help="video file or folder of numbered images")
    p.add_argument("--json", action="store_true", help="print only JSON on standard output")
    p.add_argument("--csv", metavar="FILE", help="also write the shots as CSV")
    p.add_argument("--edl", metavar="FILE", help="also write the shots as a CMX3600 EDL")
    p.add_argument("--detector", choices=DETECTORS, default=DEFAULT_DETECTOR,
                   help=f"default {DEFAULT_DETECTOR}: PySceneDetect's cuts and fades plus TransNetV2's dissolves")
    p.add_argument("--threshold", type=float, metavar="X",
                   help="sensitivity, lower finds more: the cut ratio for scenedetect (default 3; it is adaptive, so a "
                   "lower ratio can also move a cut, and as a cut closer than 6 frames to the one before is dropped, "
                   "a much lower ratio can lose real cuts), the probability for transnetv2 and the dissolves of "
                   "combined (below 1, default 0.5)")
    p.add_argument("--overwrite", action="store_true", help="replace existing --csv/--edl files")


def find_shots(video: str | Path, frame_count: int, *, detector: str = DEFAULT_DETECTOR,
               threshold: float | None = None, cancel: threading.Event | None = None) -> list[Shot]:
    """The shots of ``video`` for the command line: a detection draws its progress bar on standard error, a list
    from the cache draws nothing (``--verbose`` says where it came from).

    Raises:
        DetectionCancelledError: ``cancel`` was set.
    """
    with ProgressBar(frame_count, "finding shots") as bar:
        shots = shots_for_video(video, detector=detector, threshold=threshold, cancel=cancel,
                                progress=lambda done, _total: bar.update(done))
        if bar.last_done is not None:  # a detection ran
            bar.close(frame_count)
    return shots


def _check_outputs(args: argparse.Namespace) -> list[Path]:
    outputs = [Path(p) for p in (args.csv, args.edl) if p]
    source = Path(args.input).resolve()
    for path, suffix in ((args.csv, ".csv"), (args.edl, ".edl")):
        if not path:
            continue
        out = Path(path)
        if out.suffix.lower() != suffix:
            raise OutputError(f"{out.name}: the file for --{suffix[1:]} must end in {suffix}.")
        if out.resolve() == source:
            raise OutputError(f"{out.name} is the input video; choose another output name.")
        if out.is_dir():  # --overwrite replaces a file, never a folder
            raise OutputError(f"{out} is a folder; give the name of a file ending in {suffix}.")
        if out.exists() and not args.overwrite:
            raise OutputError(f"{out} exists; pass --overwrite to replace it.")
        check_output_folder(out)
    return outputs


def cmd_shots(args: argparse.Namespace, cancel: threading.Event) -> int:
    """Runs ``colormnet shots``; returns the exit code."""
    _check_outputs(args)
    info = probe(args.input)
    stop_if_cancelled(cancel)  # a signal PyAV's demuxer swallowed while it indexed the video
    shots = find_shots(args.input, info.frame_count, detector=args.detector, threshold=args.threshold, cancel=cancel)
    stop_if_cancelled(cancel)  # or while it read the last frames
    if args.csv:
        save_shot_list(args.csv, shots, info.fps)
    if args.edl:
        save_shot_list(args.edl, shots, info.fps)
    if args.json:
        print(json.dumps({"shots": [shot_record(s, info.fps) for s in shots]}))
        return 0
    print(f"{len(shots)} shot(s) in {Path(args.input).name} ({info.frame_count} frames, {float(info.fps):.3f} fps)")
    print(f"{'shot':>5} {'start':>7} {'stop':>7} {'timecode':>12}  boundary")
    for number, s in enumerate(shots, start=1):
        extra = f" (frames {s.transition[0]}-{s.transition[1] - 1})" if s.transition else ""
        print(f"{number:>5} {s.start:>7} {s.stop:>7} {timecode(s.start, info.fps):>12}  {s.boundary}{extra}")
    return 0
