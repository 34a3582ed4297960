"""Frames per second of the ``propagate`` engine on 2 CPU cores, at 480p and 1080p.

The engine gets real frames of ``cockatoo.mp4`` resized to the given heights (the exemplar is frame 0's colour) and
is timed per ``step`` after a warm-up; the load average is printed beside each figure because the machine may be
shared. Wall time counts; process CPU time is shown too.

Usage:
    .venv/bin/python benchmarks/propagate_speed.py [--clip tests/data/clips/cockatoo.mp4] [--frames 60]
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
from colormnet.inference.engine import ExemplarInput
from colormnet.propagate import PropagateConfig, PropagationEngine
from colormnet.video import VideoReader


def measure(frames: list[np.ndarray], config: PropagateConfig) -> tuple[float, float]:
    """Mean wall and CPU seconds per step after the first three frames."""
    planes = [torch.from_numpy(color.normalize_l(color.luminance(f)))[None] for f in frames]
    exemplar = torch.from_numpy(color.normalize_lab(color.rgb_to_lab(frames[0])))
    engine = PropagationEngine(config)
    engine.step(planes[0], ExemplarInput(exemplar, "keyframe"))
    for plane in planes[1:3]:
        engine.step(plane)
    wall, cpu = time.perf_counter(), time.process_time()
    for plane in planes[3:]:
        engine.step(plane)
    count = len(planes) - 3
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=Path("tests/data/clips/cockatoo.mp4"))
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    with VideoReader(args.clip) as reader:
        source = [rgb for _, rgb in reader.frames(0, min(args.frames, reader.info.frame_count))]
    for height in (480, 1080):
        width = round(source[0].shape[1] * height / source[0].shape[0])
        frames = [np.round(color.resize_rgb(f, width, height) * 255).astype(np.uint8) for f in source]
        load_before = os.getloadavg()[0]
        wall, cpu = measure(frames, PropagateConfig())
        print(f"{width}x{height}: {1.0 / wall:5.1f} fps ({wall * 1000:6.1f} ms/frame wall, {cpu * 1000:6.1f} ms CPU) "
              f"on {args.threads} threads; 1-min load {load_before:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
