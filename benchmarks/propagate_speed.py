"""Frames per second of the ``propagate`` engine on 2 CPU cores, at 480p (16:9 and 4:3) and 1080p.

The engine gets real frames of the test clips resized to each size (the exemplar is frame 0's colour) and is timed
per ``step`` after a warm-up; the load average is printed beside each figure because the machine may be shared.
Wall time counts; process CPU time is shown too. ``python -m benchmarks --only propagate`` calls :func:`run`.

Usage:
    .venv/bin/python benchmarks/propagate_speed.py [--clips tests/data/clips] [--frames 60]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from colormnet import color
from colormnet.engines.base import ExemplarInput
from colormnet.engines.propagate import PropagateConfig, PropagationEngine
from colormnet.video import VideoReader

CLIPS = Path(__file__).resolve().parent.parent / "tests" / "data" / "clips"


def measure(frames: list[np.ndarray], config: PropagateConfig) -> tuple[float, float]:
    """Mean wall and CPU seconds per step after the first three frames."""
    planes = [color.luminance(f) for f in frames]
    engine = PropagationEngine(config)
    engine.step(planes[0], ExemplarInput(frames[0], "keyframe"))
    for plane in planes[1:3]:
        engine.step(plane)
    wall, cpu = time.perf_counter(), time.process_time()
    for plane in planes[3:]:
        engine.step(plane)
    count = len(planes) - 3
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


SOURCES = (  # (clip, width, height): 16:9 and 4:3 480p, and 1080p
    ("cockatoo.mp4", 854, 480),
    ("realshort.mp4", 640, 480),
    ("cockatoo.mp4", 1920, 1080),
)


def load_frames(clip: Path, frames: int, width: int, height: int) -> list[np.ndarray]:
    """The first ``frames`` frames of ``clip`` as uint8 RGB resized to ``width x height``."""
    with VideoReader(clip) as reader:
        source = [rgb for _, rgb in reader.frames(0, min(frames, reader.info.frame_count))]
    return [np.round(color.resize_rgb(f, width, height) * 255).astype(np.uint8) for f in source]


def run(quick: bool = False, clips: Path = CLIPS, threads: int = 2, frames: int | None = None) -> dict:
    """The ``propagate`` part of ``python -m benchmarks``: frames per second of each source in :data:`SOURCES`.

    ``frames`` per source defaults to 12 for a quick run and 60 otherwise.
    """
    cv2.setNumThreads(threads)
    torch.set_num_threads(threads)
    count = frames or (12 if quick else 60)
    rows = []
    for name, width, height in SOURCES:
        loaded = load_frames(clips / name, count, width, height)
        load_before = os.getloadavg()
        wall, cpu = measure(loaded, PropagateConfig())
        rows.append({"source": f"{width}x{height}", "clip": name, "fps": 1.0 / wall, "cpu_ms": cpu * 1000.0,
                     "load": [list(load_before), list(os.getloadavg())]})
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, default=CLIPS)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for row in run(clips=args.clips, threads=args.threads, frames=args.frames)["rows"]:
        print(f"{row['source']} ({row['clip']}): {row['fps']:5.1f} fps ({1000.0 / row['fps']:6.1f} ms/frame wall, "
              f"{row['cpu_ms']:6.1f} ms CPU) on {args.threads} threads; 1-min load {row['load'][0][0]:.2f} -> "
              f"{row['load'][1][0]:.2f}")


if __name__ == "__main__":
    main()
