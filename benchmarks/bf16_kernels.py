"""What bf16 gives the network's large kernels on this CPU, and what each way of asking for it costs in accuracy.

``python -m benchmarks.bf16_kernels [--threads 2] [--rounds 5] [--sessions]`` times, at the sizes a 960x536 frame
gives them, a 3x3 convolution of the decoder (256 -> 256 channels at 1/4 of 1008x560), a linear layer of the ViT's
MLP (2880 tokens, 384 -> 1536) and one ViT block's attention (6 heads of 64, 2880 tokens), each:

* in fp32;
* in fp32 with oneDNN's ``fpmath`` mode at bf16 (``torch.backends.mkldnn.{conv,matmul}.fp32_precision = "bf16"``:
  fp32 tensors in and out, oneDNN rounds the operands to bf16 inside the kernel);
* on bf16 tensors (as autocast hands them over), row-major and, for the convolution, channels-last (the layout
  AMX's kernels take without reordering).

Each line gives the best time of ``--rounds`` calls after a warm-up call, the rate in GFLOPS and the largest
difference to the float64 result relative to the output's largest value. ``--sessions`` also colorizes 8 frames of
``realshort.mp4`` (320x240, keyframe exemplar, the clip bf16's parts were chosen on) and of the check footage
``movie.mp4`` from frame 83 (reference exemplar, processing size 360) in fp32 with ``fpmath`` at bf16 for the
convolutions, the matrix products or both, and prints the difference to plain fp32 on 8-bit RGB as
``benchmarks.bf16_parts`` does. Random weights, 2 threads. Not part of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from benchmarks.measure import CLIPS, load_average, machine

CONV = (1, 256, 256, 140, 252)  # N, C_in, C_out, H, W: the decoder's up_8_4 at 1/4 of 1008x560
LINEAR = (2880, 384, 1536)  # tokens, in, out: the ViT's MLP
ATTENTION = (6, 2880, 64)  # heads, tokens, head width
_MKLDNN: Any = torch.backends.mkldnn  # its per-operation settings are set up at import, unknown to type checkers


@contextlib.contextmanager
def fpmath(conv: str = "none", matmul: str = "none") -> Iterator[None]:
    """oneDNN's fp32 math mode for convolutions and matrix products ("bf16" or "none"), restored afterwards."""
    saved = _MKLDNN.conv.fp32_precision, _MKLDNN.matmul.fp32_precision
    _MKLDNN.conv.fp32_precision, _MKLDNN.matmul.fp32_precision = conv, matmul
    try:
        yield
    finally:
        _MKLDNN.conv.fp32_precision, _MKLDNN.matmul.fp32_precision = saved


def best_seconds(fn: Callable[[], torch.Tensor], rounds: int) -> float:
    """The fastest of ``rounds`` calls after a warm-up call."""
    fn()
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return min(times)


def relative_error(out: torch.Tensor, exact: torch.Tensor) -> float:
    """Largest difference to the float64 result over the result's largest value."""
    out = out.double().contiguous()
    return float((out - exact).abs().max() / exact.abs().max())


def kernels() -> list[tuple[str, Callable[[], torch.Tensor], torch.Tensor, float]]:
    """(label, call, float64 result, flops) for every kernel and form."""
    n, c_in, c_out, h, w = CONV
    x = torch.randn(n, c_in, h, w)
    weight = torch.randn(c_out, c_in, 3, 3) * (c_in * 9) ** -0.5
    x_cl, weight_cl = x.contiguous(memory_format=torch.channels_last), weight.contiguous(
        memory_format=torch.channels_last)
    tokens, width, hidden = LINEAR
    a, b = torch.randn(tokens, width), torch.randn(hidden, width) * width**-0.5
    heads, length, head = ATTENTION
    q, k, v = (torch.randn(1, heads, length, head) for _ in range(3))
    conv_exact = F.conv2d(x.double(), weight.double(), padding=1)
    linear_exact = F.linear(a.double(), b.double())
    attention_exact = F.scaled_dot_product_attention(q.double(), k.double(), v.double())
    conv_flops = 2.0 * n * c_in * c_out * 9 * h * w
    linear_flops = 2.0 * tokens * width * hidden
    attention_flops = 4.0 * heads * length * length * head
    return [
        ("conv 3x3, fp32", lambda: F.conv2d(x, weight, padding=1), conv_exact, conv_flops),
        ("conv 3x3, fp32 channels-last", lambda: F.conv2d(x_cl, weight_cl, padding=1), conv_exact, conv_flops),
        ("conv 3x3, fp32 fpmath bf16", lambda: _with(lambda: F.conv2d(x, weight, padding=1), conv="bf16"),
         conv_exact, conv_flops),
        ("conv 3x3, fp32 channels-last fpmath bf16",
         lambda: _with(lambda: F.conv2d(x_cl, weight_cl, padding=1), conv="bf16"), conv_exact, conv_flops),
        ("conv 3x3, bf16 row-major", _bf16_call(F.conv2d, x, weight, padding=1), conv_exact, conv_flops),
        ("conv 3x3, bf16 channels-last", _bf16_call(F.conv2d, x_cl, weight_cl, padding=1), conv_exact, conv_flops),
        ("conv 3x3, split bf16 x3 channels-last", _split_conv(x_cl, weight_cl), conv_exact, conv_flops),
        ("linear, fp32", lambda: F.linear(a, b), linear_exact, linear_flops),
        ("linear, fp32 fpmath bf16", lambda: _with(lambda: F.linear(a, b), matmul="bf16"), linear_exact,
         linear_flops),
        ("linear, bf16", _bf16_call(F.linear, a, b), linear_exact, linear_flops),
        ("attention (SDPA), fp32", lambda: F.scaled_dot_product_attention(q, k, v), attention_exact,
         attention_flops),
        ("attention (SDPA), bf16", _bf16_call(F.scaled_dot_product_attention, q, k, v), attention_exact,
         attention_flops),
    ]


def _with(fn: Callable[[], torch.Tensor], conv: str = "none", matmul: str = "none") -> torch.Tensor:
    with fpmath(conv, matmul):
        return fn()


def _bf16_call(fn: Callable[..., torch.Tensor], *tensors: torch.Tensor, **kwargs: object
               ) -> Callable[[], torch.Tensor]:
    """``fn`` on bf16 copies of ``tensors`` (made once, as autocast's output would already be bf16)."""
    converted = [t.to(torch.bfloat16) for t in tensors]
    return lambda: fn(*converted, **kwargs)


def _split(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``t`` as the sum of two bf16 tensors: its rounding to bf16 and the rounding of what that leaves."""
    high = t.to(torch.bfloat16)
    return high, (t - high.float()).to(torch.bfloat16)


def _split_conv(x: torch.Tensor, weight: torch.Tensor) -> Callable[[], torch.Tensor]:
    """The convolution as three bf16 ones, ``x_h * w_h + x_l * w_h + x_h * w_l`` summed in fp32 (the ``x_l * w_l``
    term is below fp32's rounding of the sum), the input split during the call, the kernels once.

    With fp32 results the three products keep about 16 bits of each operand (5e-6 relative on these shapes, the
    products computed in fp32 from the bf16 parts). But a bf16 convolution in PyTorch returns bf16: each partial
    result is rounded to 8 bits, so the split gains almost nothing over one bf16 convolution. It takes a kernel that
    writes fp32 from bf16 operands, which oneDNN has and PyTorch's eager convolution does not offer."""
    w_high, w_low = _split(weight)

    def call() -> torch.Tensor:
        x_high, x_low = _split(x)
        out = F.conv2d(x_high, w_high, padding=1).float()
        out += F.conv2d(x_low, w_high, padding=1).float()
        out += F.conv2d(x_high, w_low, padding=1).float()
        return out

    return call


def sessions() -> None:
    """8-bit RGB differences to fp32 of fp32 sessions with ``fpmath`` at bf16 (see the module's docstring)."""
    from benchmarks.bf16_parts import excerpt
    from benchmarks.cpu_bf16 import _colorize, difference, difference_cells
    from benchmarks.measure import SHORT_CLIP
    from colormnet.engines.colormnet.weights import save_random_weights

    print("\n| clip | fpmath bf16 for | mean LSB | 99.9th percentile LSB | max LSB | values > 2 LSB |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        weights = save_random_weights(Path(tmp) / "random.pth", seed=0)
        movie = excerpt(Path(tmp), f"{CLIPS / 'movie.mp4'}:83", 8)
        for clip, kind, size, label in ((SHORT_CLIP, "keyframe", 540, "realshort.mp4 0-7"),
                                        (movie, "reference", 360, "movie.mp4 83-90")):
            reference = _colorize(clip, weights, "fp32", frozenset(), 8, kind, size)[0][1:]
            for conv, matmul, what in (("bf16", "none", "convolutions"), ("none", "bf16", "matrix products"),
                                       ("bf16", "bf16", "both")):
                with fpmath(conv, matmul):
                    out = _colorize(clip, weights, "fp32", frozenset(), 8, kind, size)[0][1:]
                print(f"| {label} | {what} | {difference_cells(difference(reference, out))} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bf16_kernels", description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sessions", action="store_true", help="also the 8-bit differences of fpmath sessions")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    info = machine()
    print(f"{info['cpu']}, {args.threads} threads, torch {torch.__version__}, CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}, load {load_average()}\n")
    print("| kernel, form | ms | GFLOPS | relative error |")
    print("|---|---|---|---|")
    with torch.inference_mode():
        for label, call, exact, flops in kernels():
            seconds = best_seconds(call, args.rounds)
            print(f"| {label} | {seconds * 1e3:.1f} | {flops / seconds / 1e9:.0f} | "
                  f"{relative_error(call(), exact):.1e} |", flush=True)
    print(f"load {load_average()}")
    if args.sessions:
        sessions()


if __name__ == "__main__":
    main()
