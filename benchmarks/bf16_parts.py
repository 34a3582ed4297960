"""Which parts of the network to keep in fp32 under CPU bf16: the quality each choice buys, measured.

``python -m benchmarks.bf16_parts [--frames 8]`` colorizes the bundled ``realshort.mp4`` (320x240) from its first
frame (a keyframe) in fp32, then in bf16 with each set of parts kept in fp32, and prints the difference to fp32 on
8-bit RGB (as ``benchmarks.cpu_bf16``); ``--speed 960x536`` also times a session per choice on a real clip resized
to that size, the choices alternated over ``--rounds`` rounds (fp32 first in each), since a session run first or on
a busier machine reads slower (median seconds per frame after a warm-up frame; the load average says how quiet the
machine was).

Parts are the engine's own (``memory``, ``decoder``, ``dino``, ``key_projection``, ``value_encoder``:
:attr:`InferenceEngine.fp32_parts`) and, for this measurement only, the key encoder's fusion blocks (``fuse``), run
outside autocast by wrapping their ``forward``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import torch
from torch import nn

from benchmarks.cpu_bf16 import _colorize, difference, difference_cells, session_seconds, source_video
from benchmarks.measure import SHORT_CLIP, format_loads, load_average, write_video
from colormnet.engines import precision as engine_precision
from colormnet.engines.colormnet.model import key_encoder
from colormnet.engines.colormnet.model.blocks import in_fp32

INNER: dict[str, type[nn.Module]] = {"fuse": key_encoder.Fuse}
ENGINE_PARTS = ("memory", "decoder", "dino", "key_projection", "value_encoder")
CHOICES = [  # the engine's choice first, then the ones worth knowing
    "memory+decoder",
    "memory+decoder+key_projection",
    "memory+decoder+dino",
    "memory+decoder+dino+key_projection",
    "memory+decoder+dino+fuse",
    "memory",
    "",
]


@contextlib.contextmanager
def inner_parts_in_fp32(names: set[str]) -> Iterator[None]:
    """Runs the named key-encoder modules outside autocast (inputs made fp32) while inside."""
    saved = {name: INNER[name].forward for name in names}

    def fp32(forward):
        def wrapped(self, *args, **kwargs):
            return in_fp32(forward, self, *args, **kwargs)
        return wrapped

    try:
        for name, forward in saved.items():
            INNER[name].forward = fp32(forward)
        yield
    finally:
        for name, forward in saved.items():
            INNER[name].forward = forward


def measure(weights: Path, frames: int, choices: list[str], clip: Path = SHORT_CLIP, kind: str = "keyframe",
            process_size: int = 540) -> list[dict[str, object]]:
    """The difference to fp32 of bf16 with each choice of parts kept in fp32 (the exemplar's frame left out)."""
    reference = _colorize(clip, weights, "fp32", frozenset(), frames, kind, process_size)[0][1:]
    rows = []
    for choice in choices:
        parts = {p for p in choice.split("+") if p}
        with inner_parts_in_fp32(parts & INNER.keys()):
            out = _colorize(clip, weights, "bf16", frozenset(parts & set(ENGINE_PARTS)), frames, kind,
                            process_size)[0][1:]
        rows.append({"fp32_parts": choice or "nothing", **difference(reference, out)})
    return rows


def excerpt(folder: Path, spec: str, frames: int) -> Path:
    """Frames ``START .. START+frames-1`` of the clip ``PATH:START`` at its own size, written into ``folder``."""
    path, _, start = spec.rpartition(":")
    if not path or not start.isdigit():
        raise SystemExit(f"--clip takes PATH:START (a clip and its first frame), not {spec!r}")
    picked = []
    with av.open(path) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index >= int(start):
                picked.append(frame.to_ndarray(format="rgb24"))
            if len(picked) == frames:
                break
    if len(picked) < frames:
        raise SystemExit(f"{path} has fewer than {int(start) + frames} frames")
    return write_video(folder / "excerpt.mp4", picked)


def speed(weights: Path, size: str, frames: int, choices: list[str], rounds: int = 2) -> list[dict[str, object]]:
    """Seconds per frame of a session at ``size`` in fp32 and in bf16 with each choice kept in fp32, alternated.

    Each round runs fp32, then every choice, one after the other; a row per choice holds each round's median.
    """
    labels = ["fp32", *choices]
    rows: list[dict[str, object]] = [{"choice": c or "nothing", "seconds": [], "load": []} for c in labels]
    with tempfile.TemporaryDirectory() as tmp:
        video = source_video(Path(tmp), size, frames + 1)
        for _ in range(rounds):
            for choice, row in zip(labels, rows, strict=True):
                parts = {p for p in choice.split("+") if p} if choice != "fp32" else set()
                before = load_average()
                with inner_parts_in_fp32(parts & INNER.keys()):
                    precision = "fp32" if choice == "fp32" else "bf16"
                    seconds = session_seconds(video, weights, precision, frozenset(parts & set(ENGINE_PARTS)), frames)
                row["seconds"].append(seconds)  # type: ignore[attr-defined]
                row["load"].append([before, load_average()])  # type: ignore[attr-defined]
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bf16_parts", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="frames compared (the first is the exemplar's)")
    parser.add_argument("--clip", metavar="PATH:START", help="footage to compare on instead of realshort.mp4 from 0, "
                        "from a reference exemplar (its first frame's colours) at a 360 processing size")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed", metavar="WxH", help="also time a session per choice at this size")
    parser.add_argument("--speed-frames", type=int, default=2, help="frames timed per choice after a warm-up one")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the alternated speed runs")
    parser.add_argument("choices", nargs="*", default=CHOICES, help="parts joined by '+' (default: a set of choices)")
    args = parser.parse_args(argv)
    if not engine_precision.native_cpu_bf16():
        parser.exit(1, "bf16_parts: this CPU has no native bf16 (AMX or AVX512-BF16), where bf16 runs in fp32: "
                       "nothing to compare\n")
    torch.set_num_threads(args.threads)
    from colormnet.engines.colormnet.weights import save_random_weights

    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        if args.clip:
            clip, kind, size = excerpt(Path(tmp), args.clip, args.frames), "reference", 360
            print(f"{args.clip}, {args.frames} frames, reference exemplar, processing size {size}\n")
        else:
            clip, kind, size = SHORT_CLIP, "keyframe", 540
        print("| kept in fp32 | mean LSB | 99.9th percentile LSB | max LSB | values > 2 LSB |")
        print("|---|---|---|---|---|")
        for r in measure(weights, args.frames, args.choices, clip, kind, size):
            print(f"| {r['fp32_parts']} | {difference_cells(r)} |", flush=True)
        if args.speed:
            print(f"\n| {args.speed}: precision, kept in fp32 | s/frame per round | load before -> after per round |")
            print("|---|---|---|")
            for r in speed(weights, args.speed, args.speed_frames, args.choices, args.rounds):
                seconds = ", ".join(f"{x:.2f}" for x in r["seconds"])  # type: ignore[attr-defined]
                load = "; ".join(format_loads(pair) for pair in r["load"])  # type: ignore[attr-defined]
                label = "fp32" if r["choice"] == "fp32" else f"bf16, {r['choice']}"
                print(f"| {label} | {seconds} | {load} |", flush=True)


if __name__ == "__main__":
    main()
