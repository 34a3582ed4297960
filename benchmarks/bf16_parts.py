"""Which parts of the network to keep in fp32 under CPU bf16: the quality each choice buys, measured.

``python -m benchmarks.bf16_parts [--frames 8]`` colorizes the bundled ``realshort.mp4`` (320x240) from its first
frame (a keyframe) in fp32, then in bf16 with each set of parts kept in fp32, and prints the difference to fp32 on
8-bit RGB (as ``benchmarks.cpu_bf16``); ``--speed 960x536`` also times a session per choice on a real clip resized
to that size (median seconds per frame after a warm-up frame; the load average says how quiet the machine was).

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

import torch
from torch import nn

from benchmarks.cpu_bf16 import _colorize, difference, session_seconds, source_video
from benchmarks.measure import SHORT_CLIP, load_average
from colormnet.engines.colormnet.model import key_encoder
from colormnet.engines.colormnet.model.blocks import in_fp32

INNER: dict[str, type[nn.Module]] = {"fuse": key_encoder.Fuse}
ENGINE_PARTS = ("memory", "decoder", "dino", "key_projection", "value_encoder")
CHOICES = [  # the engine's choice first, then the ones worth knowing
    "memory+decoder",
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


def measure(weights: Path, frames: int, choices: list[str]) -> list[dict[str, object]]:
    """The difference to fp32 of bf16 with each choice of parts kept in fp32 (the exemplar's frame left out)."""
    reference = _colorize(SHORT_CLIP, weights, "fp32", frozenset(), frames)[0][1:]
    rows = []
    for choice in choices:
        parts = {p for p in choice.split("+") if p}
        with inner_parts_in_fp32(parts & INNER.keys()):
            out = _colorize(SHORT_CLIP, weights, "bf16", frozenset(parts & set(ENGINE_PARTS)), frames)[0][1:]
        rows.append({"fp32_parts": choice or "nothing", **difference(reference, out)})
    return rows


def speed(weights: Path, size: str, frames: int, choices: list[str]) -> list[dict[str, object]]:
    """Median seconds per frame of a session at ``size`` in fp32, then in bf16 with each choice kept in fp32."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        video = source_video(Path(tmp), size, frames + 1)
        for choice in ["fp32", *choices]:
            parts = {p for p in choice.split("+") if p} if choice != "fp32" else set()
            before = load_average()
            with inner_parts_in_fp32(parts & INNER.keys()):
                precision = "fp32" if choice == "fp32" else "bf16"
                seconds = session_seconds(video, weights, precision, frozenset(parts & set(ENGINE_PARTS)), frames)
            rows.append({"choice": choice or "nothing", "seconds": seconds, "load": [before, load_average()]})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bf16_parts", description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=8, help="frames of realshort.mp4 (the first is the exemplar's)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--speed", metavar="WxH", help="also time a session per choice at this size")
    parser.add_argument("--speed-frames", type=int, default=2, help="frames timed per choice after a warm-up one")
    parser.add_argument("choices", nargs="*", default=CHOICES, help="parts joined by '+' (default: a set of choices)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from colormnet.engines.colormnet.weights import save_random_weights

    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        print("| kept in fp32 | mean LSB | 99.9th percentile LSB | max LSB | values > 2 LSB |")
        print("|---|---|---|---|---|")
        for r in measure(weights, args.frames, args.choices):
            print(f"| {r['fp32_parts']} | {r['mean_lsb']:.3f} | {r['p999_lsb']:.1f} | {r['max_lsb']} | "
                  f"{100 * r['share_over_2_lsb']:.2f} % |", flush=True)  # type: ignore[operator]
        if args.speed:
            print(f"\n| {args.speed}: precision, kept in fp32 | s/frame | load before -> after |")
            print("|---|---|---|")
            for r in speed(weights, args.speed, args.speed_frames, args.choices):
                load = " -> ".join("/".join(f"{x:.1f}" for x in la) for la in r["load"])  # type: ignore[attr-defined]
                label = "fp32" if r["choice"] == "fp32" else f"bf16, {r['choice']}"
                print(f"| {label} | {r['seconds']:.2f} | {load} |", flush=True)


if __name__ == "__main__":
    main()
