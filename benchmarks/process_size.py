"""The processing size's cost: chroma computed smaller than the source and upsampled, against the source's own.

``python -m benchmarks.process_size [--quick] [--threads 2] [--json FILE]`` prints the figures; ``python -m
benchmarks`` runs it as its ``size`` part (``run(quick) -> dict``) and renders :func:`render_markdown` into
``docs/performance.md`` (the inexact options' table takes its row from it).

The model sees frames no larger than ``--process-size`` on their short side (540 by default); its chroma is
upsampled bilinearly to the source's size and joined with the source's own luminance. What that costs is measured
without the network, which is random here (a random network's output changes wholesale with the input's scale, so
comparing its outputs at two sizes measures the random weights, not the option): real colour frames
(``cockatoo.mp4``, 1280x720, eight frames spread over the clip) are shrunk to the processing size (bilinear,
antialiased), their own chroma at that size is taken as a perfect model's output there, upsampled bilinearly with
pixel centres aligned (as a session upsamples the network's chroma) and joined with the full-size luminance; the
result is compared on 8-bit RGB with the same frames' chroma kept at full size. So the figures are what upsampling
the chroma costs by itself, with every colour right; how the network answers a smaller input comes on top, and
measuring that takes trained weights. The speed of each size is a session's median seconds per frame (fp32, random
checkpoint: speed does not depend on the weights' values).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.cpu_bf16 import _colorize, difference, difference_cells
from benchmarks.measure import SHORT_CLIP, SOURCE_CLIP, format_loads, load_average, machine, median, write_video
from colormnet import color
from colormnet.engines.base import process_shape
from colormnet.session.fusion import resize_chroma

PLAN = {  # quick -> (clip, frames compared, frames timed per size after a warm-up one, smaller sizes)
    True: (SHORT_CLIP, 2, 1, (160,)),
    False: (SOURCE_CLIP, 8, 2, (540, 360)),
}


def _spread_frames(clip: Path, count: int) -> list[np.ndarray]:
    """``count`` RGB frames of ``clip`` at its own size, spread evenly over it."""
    import av

    with av.open(str(clip)) as container:
        total = container.streams.video[0].frames or sum(1 for _ in container.decode(video=0))
    with av.open(str(clip)) as container:
        step = max(1, total // count)
        frames = [f.to_ndarray(format="rgb24") for i, f in enumerate(container.decode(video=0)) if i % step == 0]
    return frames[:count]


def chroma_loss(frames: list[np.ndarray], cap: int) -> dict[str, float]:
    """What computing the chroma at ``process_shape(.., cap)`` and upsampling it costs, on 8-bit RGB (see above)."""
    kept, shrunk = [], []
    for rgb in frames:
        height, width = rgb.shape[:2]
        lightness = color.luminance(rgb)
        full_ab = color.normalize_lab(color.rgb_to_lab(color.resize_rgb(rgb, width, height)))[1:]  # as the model input
        small_h, small_w = process_shape(height, width, cap)
        small = color.resize_rgb(rgb, small_w, small_h)
        small_ab = color.normalize_lab(color.rgb_to_lab(small))[1:]
        kept.append(color.to_uint8_truncated(color.compose_rgb(lightness, full_ab)))
        shrunk.append(color.to_uint8_truncated(color.compose_rgb(lightness, resize_chroma(small_ab, (height, width)))))
    return difference(kept, shrunk)


def run(quick: bool, threads: int = 2) -> dict[str, object]:
    """Measures each smaller size against the source's own; a JSON-ready result."""
    from colormnet.engines.colormnet.weights import save_random_weights

    torch.set_num_threads(threads)
    clip, compared, timed, smaller = PLAN[quick]
    frames = _spread_frames(clip, compared)
    height, width = frames[0].shape[:2]
    own = min(height, width)
    load = [load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        video = write_video(Path(tmp) / "source.mp4", frames[:1] * (timed + 1))
        rows = []
        for cap in (own, *smaller):
            seconds = _colorize(video, weights, "fp32", frozenset(), timed + 1, process_size=cap)[1]
            row: dict[str, object] = {"process_size": cap, "seconds_per_frame": median(seconds[1:])}
            if cap != own:
                row |= chroma_loss(frames, cap)
            rows.append(row)
    load.append(load_average())
    return {"machine": machine() | {"threads": threads}, "source": f"{clip.name} {width}x{height}",
            "frames": len(frames), "rows": rows, "load": load}


def default_row(result: dict | None) -> dict | None:
    """The row of the size the default gives the measured source (540), if it was measured."""
    if not result:
        return None
    return next((r for r in result["rows"] if r["process_size"] == 540), None)


def _cpu(result: dict) -> str:
    m = result["machine"]
    return f"{m['cpu']}, {m['cores']} cores" if "cpu" in m else "this machine"


def render_markdown(result: dict | None) -> str:
    """The "Processing size" section of ``docs/performance.md``."""
    lines = ["## Processing size", ""]
    if not result:
        return "\n".join([*lines, "Not measured in this run (`python -m benchmarks --only size`).", ""])
    load = format_loads(result["load"])
    own = result["rows"][0]
    lines += [
        f"{result['source']}, {result['frames']} frames spread over the clip. `--process-size` caps the short side "
        "the model sees (540 by default); the chroma is upsampled and joined with the source's own luminance. The "
        "difference is what upsampling the chroma costs by itself, with every colour right: the frames' own chroma "
        "at the smaller size, upsampled, against it at full size, on 8-bit RGB; how the network answers a smaller "
        "input comes on top and takes trained weights to measure (`benchmarks/process_size.py`). Speed: a "
        f"session's median s/frame, fp32 on the CPU ({_cpu(result)}), {result['machine']['threads']} threads, random "
        "checkpoint (at "
        f"the source's own {own['process_size']}: {own['seconds_per_frame']:.2f} s/frame); load {load}.",
        "",
        "| processing size | s/frame | mean LSB | 99.9th percentile LSB | max LSB | values > 2 LSB |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"][1:]:
        lines.append(f"| {r['process_size']} | {r['seconds_per_frame']:.2f} | {difference_cells(r)} |")
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    """Runs the measurement and prints it (and writes JSON when asked)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.process_size", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small clip and one smaller size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the raw result here too")
    args = parser.parse_args(argv)
    result = run(args.quick, args.threads)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1))
    print(render_markdown(result))


if __name__ == "__main__":
    main()
