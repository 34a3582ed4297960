"""The decoder's 3x3 convolutions, direct against Winograd F(4x4, 3x3), at the sizes a 960x536 frame gives them.

``python -m benchmarks.winograd_speed [--threads 2] [--rounds 3]`` prints, per convolution shape, the best time of
each form (alternated, after a warm-up call), the speed-up and the largest difference to the float64 convolution of
each, relative to the output's largest value. Up to 512 x 512 channels Winograd runs from kept transforms, the wider
convolutions transform their kernels during the call, as the model does. Random weights scaled like a trained
layer's; fp32 on the CPU. Not part of ``python -m benchmarks``: the session figures there include these convolutions.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import torch
import torch.nn.functional as F

from benchmarks.measure import load_average
from colormnet.engines.colormnet.model.winograd import WinogradConv2d

# (objects, input channels, output channels, height, width) at 1/4, 1/8 and 1/16 of 1008x560, and where they occur.
SHAPES = [
    ((2, 256, 256, 140, 252), "up_8_4 conv1, conv2"),
    ((1, 256, 256, 140, 252), "up_8_4 skip"),
    ((2, 512, 256, 70, 126), "up_16_8 conv1, shortcut"),
    ((1, 512, 512, 70, 126), "up_16_8 skip"),
    ((2, 256, 256, 70, 126), "up_16_8 conv2"),
    ((2, 512, 512, 35, 63), "fuser block1 conv2, block2"),
    ((1, 1024, 512, 35, 63), "fuser block1 conv1, shortcut: f16's share"),
    ((2, 576, 512, 35, 63), "fuser block1 conv1, shortcut: per object"),
]


def seconds(fn: Callable[[], torch.Tensor]) -> float:
    """Wall seconds of one call."""
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.winograd_speed", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, load {load_average()}")
    print(
        "| convolution (N x C_in -> C_out, H x W) | where | direct ms | Winograd ms | speed-up | "
        "error direct | error Winograd |"
    )
    print("|---|---|---|---|---|---|---|")
    with torch.no_grad():  # not inference mode: the module keys its kept transforms on the weights' version
        for (n, c_in, c_out, h, w), where in SHAPES:
            x = torch.randn(n, c_in, h, w)
            weight, bias = torch.randn(c_out, c_in, 3, 3) * (c_in * 9) ** -0.5, torch.randn(c_out) * 0.1
            direct = partial(F.conv2d, x, weight, bias, padding=1)
            winograd = WinogradConv2d(c_in, c_out).eval()  # the model's module: it picks how to transform
            winograd.load_state_dict({"weight": weight, "bias": bias})
            if not winograd.keeps_transforms:
                where += " (transforms per call)"
            exact = F.conv2d(x.double(), weight.double(), bias.double(), padding=1)
            scale = exact.abs().max().item()
            forms = (direct, partial(winograd, x))  # the first calls: the kept transforms are made here
            errors = [(f().double() - exact).abs().max().item() / scale for f in forms]
            times = {"direct": float("inf"), "winograd": float("inf")}
            for _ in range(args.rounds):  # alternated, so both see the same machine
                for name, form in zip(times, forms, strict=True):
                    times[name] = min(times[name], seconds(form))
            print(
                f"| {n} x {c_in} -> {c_out}, {h} x {w} | {where} | {times['direct'] * 1e3:.0f} | "
                f"{times['winograd'] * 1e3:.0f} | x{times['direct'] / times['winograd']:.2f} | "
                f"{errors[0]:.1e} | {errors[1]:.1e} |"
            )
    print(f"load after: {load_average()}")


if __name__ == "__main__":
    main()
