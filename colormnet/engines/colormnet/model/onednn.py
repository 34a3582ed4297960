"""Dense products computed by oneDNN's 1x1 convolution on the CPU, used by the fast path.

On the CPU PyTorch sends ``F.linear`` and ``matmul`` to its BLAS (MKL) and convolutions to oneDNN. On the AMD EPYC
of ``benchmarks/notes.md`` MKL's fp32 products of the ViT's shapes run at 115-150 GFLOPS and oneDNN's 1x1
convolutions at 185-210 on the same operands (bf16 under autocast: 240-330 against 315-375). The arithmetic is the
same; only the order of the sums differs.

A linear layer over tokens ``... x C_in`` is a 1x1 convolution over a channels-last image whose pixels are the
tokens: the view costs no copy, and the output arrives laid out as ``... x C_out``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)``, by oneDNN for a contiguous CPU ``x`` (elsewhere ``F.linear`` itself)."""
    if x.device.type != "cpu" or x.dim() < 2 or not x.is_contiguous() or x.numel() == 0:
        return F.linear(x, weight, bias)
    c_in = x.shape[-1]
    rows = x.numel() // c_in
    image = x.view(1, rows, 1, c_in).permute(0, 3, 1, 2)  # 1 x C_in x rows x 1, channels-last strides
    out = F.conv2d(image, weight[:, :, None, None], bias)  # channels-last in, channels-last out
    return out.permute(0, 2, 3, 1).reshape(*x.shape[:-1], weight.shape[0])


class Linear(nn.Linear):
    """``nn.Linear`` (same parameters) that computes through :func:`linear` on the fast path."""

    fast = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return linear(x, self.weight, self.bias) if self.fast else super().forward(x)
