"""Quality of the ``propagate`` engine against two naive baselines, with the paper's protocol.

Protocol: the first frame's true colours are the exemplar (a keyframe); the input is the luminance (L*) of every
frame; the prediction's chroma is combined with the true L* and compared with the true frame as 8-bit RGB. Each
clip is read for its first ``--frames`` frames and resized (Pillow bilinear) to ``--size`` pixels on the short side;
the table gives the mean PSNR over the frames after the keyframe.

Baselines:
  copy  the exemplar's chroma on every frame;
  warp  plain chained optical-flow warping: DIS flow (OpenCV's ``medium`` preset) between consecutive frames'
        L*, the previous frame's chroma warped onto the next, no consistency test, no refinement.

Held-out runs (``--held-out``): footage the engine's settings were not chosen on, from the same files: cockatoo's
frames 150-279 (a pull-back from an extreme close-up, with a whip pan), and three clips played backwards from their
last frame (cockatoo 149 to 0, a zoom-out; movie 165 to 16; realshort 35 to 0).

Usage:
    .venv/bin/python benchmarks/propagate_quality.py [--clips tests/data/clips] [--frames 150] [--size 480]
    .venv/bin/python benchmarks/propagate_quality.py --held-out
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from colormnet import color
from colormnet.engines.base import ExemplarInput
from colormnet.engines.propagate import PropagateConfig, PropagationEngine
from colormnet.engines.propagate.flow import base_grid, sample
from colormnet.metrics import psnr
from colormnet.video import VideoReader

CLIPS = ("cockatoo.mp4", "realshort.mp4", "movie.mp4")

Method = Callable[[list[np.ndarray], np.ndarray], Iterator[np.ndarray]]  # (L* planes, exemplar RGB) -> ab' planes


def load_clip(path: Path, frames: int, size: int) -> list[np.ndarray]:
    """The first ``frames`` frames as uint8 RGB, resized to ``size`` on the short side."""
    out = []
    with VideoReader(path) as reader:
        for _, rgb in reader.frames(0, min(frames, reader.info.frame_count)):
            h, w = rgb.shape[:2]
            scale = size / min(h, w)
            resized = color.resize_rgb(rgb, round(w * scale), round(h * scale))
            out.append(np.round(resized * 255.0).astype(np.uint8))
    return out


def held_out(clips: Path, size: int) -> dict[str, list[np.ndarray]]:
    """The held-out runs (see the module docstring), each starting from its keyframe."""
    cockatoo = load_clip(clips / "cockatoo.mp4", 280, size)
    movie = load_clip(clips / "movie.mp4", 166, size)
    realshort = load_clip(clips / "realshort.mp4", 36, size)
    return {"cockatoo 150-279": cockatoo[150:280], "cockatoo 149-0": cockatoo[149::-1],
            "movie 165-16": movie[165:15:-1], "realshort 35-0": realshort[::-1]}


def copy_baseline(lights: list[np.ndarray], exemplar: np.ndarray) -> Iterator[np.ndarray]:
    """The exemplar's chroma on every frame."""
    ab = color.normalize_lab(color.rgb_to_lab(exemplar))[1:]
    for _ in lights:
        yield ab


def warp_baseline(lights: list[np.ndarray], exemplar: np.ndarray) -> Iterator[np.ndarray]:
    """Chained DIS warping of the previous frame's chroma (no consistency, no refinement)."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    ab = color.normalize_lab(color.rgb_to_lab(exemplar))[1:]
    prev = None
    for light in lights:
        image = np.clip(light * 2.55 + 0.5, 0, 255).astype(np.uint8)
        if prev is not None:
            flow = dis.calc(image, prev, None)
            ab = sample(ab, base_grid(*image.shape) + flow)
        prev = image
        yield ab


def propagate(lights: list[np.ndarray], exemplar: np.ndarray, config: PropagateConfig | None = None
              ) -> Iterator[np.ndarray]:
    """The ``propagate`` engine through its segment interface."""
    engine = PropagationEngine(config)
    for i, light in enumerate(lights):
        first = ExemplarInput(exemplar, "keyframe") if i == 0 else None
        yield engine.step(light, first, end=i == len(lights) - 1).ab


METHODS: dict[str, Method] = {"copy": copy_baseline, "warp": warp_baseline, "propagate": propagate}


def evaluate(frames: list[np.ndarray], method: Method) -> tuple[list[float], float]:
    """Per-frame PSNR after the keyframe, and the method's seconds per frame."""
    lights = [color.luminance(f) for f in frames]
    exemplar = frames[0]  # the keyframe: the first frame's true colours
    scores, began = [], time.perf_counter()
    spent = 0.0
    for i, ab in enumerate(method(lights, exemplar)):
        spent += time.perf_counter() - began
        if i > 0:
            rgb = color.compose_rgb(lights[i], ab)
            scores.append(psnr(np.round(rgb * 255.0).astype(np.uint8), frames[i]))
        began = time.perf_counter()
    return scores, spent / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, default=Path("tests/data/clips"))
    parser.add_argument("--names", nargs="+", default=list(CLIPS), help="clip files in --clips")
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--size", type=int, default=480, help="short side in pixels")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--held-out", action="store_true", help="the held-out runs instead of the clips' starts")
    parser.add_argument("--json", type=Path, help="also write per-frame scores here")
    args = parser.parse_args()
    cv2.setNumThreads(2)

    table: dict[str, dict[str, float]] = {}
    details: dict[str, dict[str, list[float]]] = {}
    if args.held_out:
        runs = held_out(args.clips, args.size)
    else:
        runs = {name: load_clip(args.clips / name, args.frames, args.size) for name in args.names}
    for name, frames in runs.items():
        h, w = frames[0].shape[:2]
        table[name], details[name] = {}, {}
        for method in args.methods:
            scores, seconds = evaluate(frames, METHODS[method])
            table[name][method] = float(np.mean(scores))
            details[name][method] = scores
            print(f"{name:16s} {w}x{h} {len(frames):3d} frames  {method:10s} {table[name][method]:6.2f} dB  "
                  f"{seconds * 1000:6.1f} ms/frame  load {os.getloadavg()[0]:.2f}", flush=True)

    print()
    print("| clip | " + " | ".join(args.methods) + " |")
    print("|---|" + "---:|" * len(args.methods))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join(f"{row[m]:.2f}" for m in args.methods) + " |")
    means = {m: float(np.mean([row[m] for row in table.values()])) for m in args.methods}
    print("| **mean** | " + " | ".join(f"**{means[m]:.2f}**" for m in args.methods) + " |")
    if args.json:
        args.json.write_text(json.dumps({"mean_psnr": table, "per_frame_psnr": details}, indent=1))


if __name__ == "__main__":
    main()
