"""Shot detection speed: frames per second of each detector on a 640x360 H.264 source, on 2 threads.

The source is the cockatoo clip resized to 640x360 and played back and forth to :data:`FRAMES` frames: one shot of
camera motion and a whip pan, no transition. Each detector runs the whole pass (decode, luminance, detection) after
one warm-up pass; decoding alone is timed too, as the floor, both to RGB (what colorization reads) and to the small
luminance detection reads. A second source, the held-out accuracy montage at 640x360 (8 boundaries, 3 of them
gradual), shows what the default costs where TransNetV2 has windows to score. Wall-clock rates depend on what else
runs on the machine, so the rate per CPU second (the process's CPU time, all its threads) is printed beside them: on
an idle machine the wall rate is at least that.
``python -m benchmarks.shot_speed [--frames N] [--no-montage] [--json]`` prints the figures and the load average.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import torch

from benchmarks.measure import clip_frames, load_average, write_video
from benchmarks.shot_montage import HELD_OUT, build_montage, write_gray_video
from colormnet.shots import DETECTORS, detect_shots
from colormnet.shots.detect import work_size
from colormnet.video import VideoReader

FRAMES = 600
THREADS = 2


def _rates(frames: int, wall: float, cpu: float) -> dict[str, float]:
    return {"fps": frames / wall, "fps_per_cpu_second": frames / cpu}


def decode_fps(path: Path) -> dict[str, float]:
    """Frames per second of reading the source alone (our reader, RGB), by wall time and by CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    with VideoReader(path) as reader:
        count = sum(1 for _ in reader.frames())
    return _rates(count, time.perf_counter() - wall, time.process_time() - cpu)


def luma_decode_fps(path: Path) -> dict[str, float]:
    """Frames per second of reading the source's luminance at the detectors' working size."""
    wall, cpu = time.perf_counter(), time.process_time()
    with VideoReader(path) as reader:
        count = sum(1 for _ in reader.luma_frames(work_size(reader.info.width, reader.info.height)))
    return _rates(count, time.perf_counter() - wall, time.process_time() - cpu)


def detector_fps(path: Path, detector: str, frames: int) -> dict[str, float]:
    """Frames per second of a full detection pass (model loading included for the learned detector)."""
    wall, cpu = time.perf_counter(), time.process_time()
    detect_shots(path, detector=detector)
    return _rates(frames, time.perf_counter() - wall, time.process_time() - cpu)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=FRAMES)
    parser.add_argument("--detector", action="append", choices=DETECTORS, help="default: all")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-montage", action="store_true", help="skip the montage with transitions")
    args = parser.parse_args(argv)
    torch.set_num_threads(THREADS)
    cv2.setNumThreads(THREADS)
    rows: dict[str, dict[str, float]] = {}
    load = [load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_video(Path(tmp) / "source.mp4", clip_frames(args.frames, 640, 360))
        detect_shots(path, detector="scenedetect")  # warm-up: file cache, imports
        rows["decode RGB"] = decode_fps(path)
        rows["decode luma"] = luma_decode_fps(path)
        for detector in args.detector or DETECTORS:
            rows[detector] = detector_fps(path, detector, args.frames)
        if not args.no_montage:
            frames, _ = build_montage(HELD_OUT, (640, 360))
            montage = write_gray_video(Path(tmp) / "montage.mp4", frames)
            rows["combined, montage"] = detector_fps(montage, "combined", len(frames))
    load.append(load_average())
    if args.json:
        print(json.dumps({"fps": rows, "load": load, "threads": THREADS, "source": "640x360"}))
        return 0
    print(f"640x360 H.264, {args.frames} frames, {THREADS} threads; load average before/after: {load[0]} / {load[1]}")
    for name, rate in rows.items():
        print(f"{name:>17}: {rate['fps']:7.1f} fps (wall), {rate['fps_per_cpu_second']:7.1f} frames per CPU second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
