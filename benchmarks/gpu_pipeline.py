"""The GPU pipeline: model-only throughput against a whole session's, at 960x536 and 1920x1080, random checkpoint.

* **model only** -- the ColorMNet engine's network step (:meth:`InferenceEngine.step_plane`) on L' planes that are
  already on the device at the processing size, frame after frame, the device synchronised before and after: the
  most a session could reach.
* **end to end** -- a :class:`~colormnet.session.Session` over an H.264 source of that size: decoding, L*, the
  model, the chroma's upsampling, LAB -> RGB and the 8-bit frame the CLI writes (``FrameResult.to_uint8``), one
  exemplar at frame 0 (one forward run, every later frame going straight to the caller).

Both run the same frames in the same precision (``--precision``, default ``auto``: fp16 autocast on CUDA) after
``--warmup`` frames; the ratio end-to-end / model-only is the share of the GPU's pace the pipeline keeps (target on
one H100 or H200: >= 0.80 at both sizes). Usage::

    python -m benchmarks.gpu_pipeline [--json out.json]           # on a GPU: 960x536 and 1920x1080
    python -m benchmarks.gpu_pipeline --quick                     # anywhere: a tiny size, to check that it runs

Without ``--weights`` a random checkpoint is written to a temporary folder (the speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.measure import clip_frames, load_average, machine, synchronize, write_video
from colormnet.config import InferenceConfig
from colormnet.engines import device_color
from colormnet.engines.base import ExemplarInput
from colormnet.engines.colormnet.backend import load_model
from colormnet.engines.colormnet.inference.engine import InferenceEngine
from colormnet.engines.colormnet.weights import save_random_weights
from colormnet.engines.tensors import resize_plane
from colormnet.session import Exemplar, Session, SessionConfig, process_shape

SIZES = ((960, 536), (1920, 1080))
QUICK_SIZES = ((112, 80),)  # one padding unit
TARGET = 0.80


def model_only(weights: Path, frames: list[np.ndarray], warmup: int, device: str, precision: str,
               process_size: int) -> float:
    """Seconds per frame of the network step alone, on planes already on the device."""
    model = load_model(weights, device=device, precision=precision)  # type: ignore[arg-type]
    engine = InferenceEngine(model.network, InferenceConfig(), model.autocast_dtype)
    height, width = frames[0].shape[:2]
    work = process_shape(height, width, process_size)
    with torch.inference_mode():
        planes = [resize_plane(device_color.normalize_l(device_color.luminance(
            torch.from_numpy(rgb).to(model.device)))[None], *work) for rgb in frames]
    lightness = planes[0][0].cpu().numpy() * 50 + 50  # L* of the exemplar's frame, at the processing size
    engine.step(lightness, ExemplarInput(frames[0], "reference"))
    for plane in planes[1 : 1 + warmup]:
        engine.step_plane(plane)
    timed = planes[1 + warmup :]
    synchronize(model.device)
    began = time.perf_counter()
    for plane in timed:
        engine.step_plane(plane)
    synchronize(model.device)
    return (time.perf_counter() - began) / len(timed)


def end_to_end(weights: Path, video: Path, exemplar: np.ndarray, warmup: int, device: str, precision: str,
               process_size: int) -> float:
    """Seconds per frame of a whole session, the 8-bit frames taken as the CLI takes them."""
    config = SessionConfig(device=device, precision=precision, process_size=process_size)  # type: ignore[arg-type]
    stamps = []
    with Session(video, weights=weights, config=config) as session:
        session.set_exemplars([Exemplar(frame=0, image=exemplar.astype(np.float32) / 255.0, kind="reference")])
        session.load_model()
        for result in session.colorize():
            result.to_uint8()
            stamps.append(time.perf_counter())
    measured = stamps[warmup:]  # from the end of the last warm-up frame (frame 0 is the exemplar's)
    return (measured[-1] - measured[0]) / (len(measured) - 1)


def measure(weights: Path, width: int, height: int, frames: int, warmup: int, device: str, precision: str,
            process_size: int) -> dict[str, object]:
    """Both figures for one size."""
    rgb = clip_frames(frames + warmup + 1, width, height)
    load = [load_average()]
    model_seconds = model_only(weights, rgb, warmup, device, precision, process_size)
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "source.mp4", rgb)
        session_seconds = end_to_end(weights, video, rgb[0], warmup, device, precision, process_size)
    load.append(load_average())
    return {
        "source": f"{width}x{height}",
        "processing": "x".join(map(str, process_shape(height, width, process_size)[::-1])),
        "frames": frames,
        "warmup": warmup,
        "model_seconds_per_frame": model_seconds,
        "session_seconds_per_frame": session_seconds,
        "model_fps": 1 / model_seconds,
        "session_fps": 1 / session_seconds,
        "ratio": model_seconds / session_seconds,
        "load": load,
    }


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Measures every size, prints a line for each and returns (and with ``--json`` writes) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", type=Path, help="checkpoint (default: a random one)")
    parser.add_argument("--device", default="auto", help="auto, cuda or cpu")
    parser.add_argument("--precision", default="auto", help="auto, fp32, fp16 or bf16")
    parser.add_argument("--process-size", type=int, default=SessionConfig().process_size)
    parser.add_argument("--frames", type=int, default=60, help="timed frames per size")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="a tiny size and a few frames, to check it runs")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    frames, warmup = (3, 1) if args.quick else (args.frames, args.warmup)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or save_random_weights(Path(tmp) / "random.pth", seed=0)
        for width, height in sizes:
            row = measure(weights, width, height, frames, warmup, args.device, args.precision, args.process_size)
            rows.append(row)
            print(f"{row['source']} (model at {row['processing']}): model only {row['model_fps']:.1f} frames/s "
                  f"({row['model_seconds_per_frame']:.4f} s), end to end {row['session_fps']:.1f} frames/s "
                  f"({row['session_seconds_per_frame']:.4f} s): {row['ratio']:.0%} of the model's pace "
                  f"(target {TARGET:.0%})", flush=True)
    result: dict[str, object] = {"part": "gpu_pipeline", "machine": machine(), "quick": args.quick,
                                 "device": args.device, "precision": args.precision, "target": TARGET, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
