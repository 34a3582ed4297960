"""ColorMNet engine benchmarks, each run in a process of its own (``python -m benchmarks.engine_speed PART ...``).

Parts:

* ``session`` -- seconds per frame and peak memory of a whole :class:`~colormnet.session.Session` run (decode,
  colour conversion, model, chroma upsampling) on an H.264 source of the given size, random checkpoint.
* ``ratio`` -- the fast path against the literal reference (``ColorMNet(fast=False)``): two engines step through
  the same frames alternately, so both see the same machine load; also the largest difference of their outputs.
* ``memory`` -- resident memory after 50, 200 and 800 frames of a long run at a small size: it must stay flat once
  the working memory is full.

Each part writes one JSON object to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.measure import (
    SHORT_CLIP,
    clip_frames,
    current_rss_mb,
    load_average,
    median,
    peak_memory_mb,
    timed,
    write_video,
)
from colormnet import color
from colormnet.config import InferenceConfig
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.backend import load_model
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.precision import effective_precision
from colormnet.session import Exemplar, Session, SessionConfig

logger = logging.getLogger(__name__)


def session_speed(
    weights: Path | None, width: int, height: int, frames: int, warmup: int, engine: str = "colormnet"
) -> dict[str, object]:
    """Seconds per frame of a session run (median after ``warmup`` frames) and the process's peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        rgb = clip_frames(frames + warmup, width, height)
        video = write_video(Path(tmp) / "source.mp4", rgb)
        exemplar = Exemplar(frame=0, image=rgb[0].astype(np.float32) / 255.0, kind="reference")
        with Session(video, weights=weights, config=SessionConfig(engine=engine)) as session:
            session.set_exemplars([exemplar])
            device = torch.device(session.device)
            loads, times, cpu_times = [load_average()], [], []
            began, cpu = time.perf_counter(), time.process_time()
            for _ in session.colorize():
                now, cpu_now = time.perf_counter(), time.process_time()
                times.append(now - began)
                cpu_times.append(cpu_now - cpu)
                began, cpu = now, cpu_now
            loads.append(load_average())
    measured = times[warmup:]
    return {
        "part": "session",
        "engine": engine,
        "source": f"{width}x{height}",
        "device": str(device),
        "precision": effective_precision(engine, "auto", device),
        "frames": len(measured),
        "warmup": warmup,
        "seconds_per_frame": median(measured),
        "cpu_seconds_per_frame": median(cpu_times[warmup:]),
        "seconds_min": min(measured),
        "seconds_max": max(measured),
        "first_frame_seconds": times[0],
        "peak_memory_mb": peak_memory_mb(device),
        "load": loads,
    }


def engine_frames(width: int, height: int, count: int) -> tuple[list[np.ndarray], np.ndarray]:
    """L* planes of a real clip at ``width x height`` and its first frame's RGB (the exemplar)."""
    rgb = clip_frames(count, width, height)
    return [color.luminance(f) for f in rgb], rgb[0]


def fast_vs_reference(weights: Path, width: int, height: int, frames: int, warmup: int) -> dict[str, object]:
    """Per-frame seconds of the fast and the reference path, interleaved frame by frame, and their difference."""
    model = load_model(weights)
    network, device = model.network, model.device
    planes, first = engine_frames(width, height, frames + warmup)
    exemplar = ExemplarInput(first, "reference")
    engines = {
        path: InferenceEngine(network, InferenceConfig(), model.autocast_dtype) for path in ("fast", "reference")
    }
    for path, engine in engines.items():
        network.fast = path == "fast"
        engine.reset()  # picks the readout that goes with the path
    times: dict[str, list[float]] = {"fast": [], "reference": []}
    cpu_times: dict[str, list[float]] = {"fast": [], "reference": []}
    difference = 0.0
    loads = [load_average()]
    for t, plane in enumerate(planes):
        out: dict[str, np.ndarray] = {}
        for path, engine in engines.items():
            network.fast = path == "fast"
            ex = exemplar if t == 0 else None
            seconds, cpu, result = timed(lambda e=engine, p=plane, ex=ex: e.step(p, ex), device)  # type: ignore[misc]
            out[path] = result.ab  # type: ignore[attr-defined]
            times[path].append(seconds)
            cpu_times[path].append(cpu)
        difference = max(difference, float(np.abs(out["fast"] - out["reference"]).max()))
    network.fast = True
    loads.append(load_average())
    fast, reference = median(times["fast"][warmup:]), median(times["reference"][warmup:])
    return {
        "part": "ratio",
        "source": f"{width}x{height}",
        "device": str(device),
        "precision": str(model.autocast_dtype or "fp32"),
        "frames": frames,
        "warmup": warmup,
        "fast_seconds": fast,
        "reference_seconds": reference,
        "speedup": reference / fast,
        "fast_cpu_seconds": median(cpu_times["fast"][warmup:]),
        "reference_cpu_seconds": median(cpu_times["reference"][warmup:]),
        "cpu_speedup": median(cpu_times["reference"][warmup:]) / median(cpu_times["fast"][warmup:]),
        "per_frame_ratio_median": median(
            [r / f for f, r in zip(times["fast"][warmup:], times["reference"][warmup:], strict=True)]
        ),
        "max_abs_ab_difference": difference,
        "load": loads,
    }


def memory_flatness(weights: Path, width: int, height: int, checkpoints: list[int]) -> dict[str, object]:
    """Resident memory (current and peak) after each checkpoint's number of frames of one long session run."""
    with tempfile.TemporaryDirectory() as tmp:
        rgb = clip_frames(checkpoints[-1], width, height, SHORT_CLIP)
        video = write_video(Path(tmp) / "long.mp4", rgb)
        exemplar = Exemplar(frame=0, image=rgb[0].astype(np.float32) / 255.0, kind="reference")
        rows = []
        with Session(video, weights=weights, config=SessionConfig()) as session:
            session.set_exemplars([exemplar])
            device = torch.device(session.device)
            began = time.perf_counter()
            for result in session.colorize():
                if result.done in checkpoints:
                    rows.append(
                        {
                            "frames": result.done,
                            "rss_mb": current_rss_mb(),
                            "peak_mb": peak_memory_mb(device),
                            "seconds": time.perf_counter() - began,
                            "load": load_average(),
                        }
                    )
    return {"part": "memory", "source": f"{width}x{height}", "device": str(device),
            "precision": effective_precision("colormnet", "auto", device), "rows": rows}


def main(argv: list[str] | None = None) -> None:
    """Runs one part and writes its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("part", choices=["session", "ratio", "memory"])
    parser.add_argument("--weights", type=Path, help="checkpoint (the propagate engine needs none)")
    parser.add_argument("--engine", default="colormnet", help="session: which engine colorizes")
    parser.add_argument("--size", default="480x272", help="source WIDTHxHEIGHT")
    parser.add_argument("--frames", type=int, default=8, help="measured frames (memory: the checkpoints' last)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--checkpoints", default="50,200,800", help="memory: frame counts to sample at")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.split("x"))
    if args.part == "session":
        weights = args.weights if args.engine == "colormnet" else None
        result = session_speed(weights, width, height, args.frames, args.warmup, args.engine)
    elif args.part == "ratio":
        result = fast_vs_reference(args.weights, width, height, args.frames, args.warmup)
    else:
        checkpoints = sorted(int(v) for v in args.checkpoints.split(","))
        result = memory_flatness(args.weights, width, height, checkpoints)
    result["threads"] = torch.get_num_threads()
    args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
