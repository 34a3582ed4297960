"""The frozen VGG19 convolution trunk (``vgg19_conv.pth``, a Caffe conversion) that both subnets read features from.

Legend: ``r22`` ... ``r52`` are the ReLU outputs after the *second* convolution of blocks 2 to 5, at strides 2, 4, 8
and 16 of the network input. The input convention is Caffe's: BGR, 0..255, mean-subtracted (:func:`caffe_input`).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BGR_MEANS", "FEATURE_EPS", "VGG19Trunk", "VGGFeatures", "caffe_input", "normalize_features"]

BGR_MEANS = (0.40760392, 0.45795686, 0.48501961)  # per-channel means of the Caffe model, on the [0, 1] scale
FEATURE_EPS = sys.float_info.epsilon  # added to the channel norm before dividing
_BLOCKS = ((3, 64, 2), (64, 128, 2), (128, 256, 4), (256, 512, 4), (512, 512, 4))  # (in, out, convs) per block


class VGGFeatures(NamedTuple):
    """The four feature maps the correspondence subnet uses (``1 x C x H/s x W/s``)."""

    r22: torch.Tensor  # 128 channels, stride 2
    r32: torch.Tensor  # 256 channels, stride 4
    r42: torch.Tensor  # 512 channels, stride 8
    r52: torch.Tensor  # 512 channels, stride 16


def caffe_input(rgb: torch.Tensor) -> torch.Tensor:
    """``B x 3 x H x W`` RGB in [0, 1] -> the Caffe VGG input (BGR, means subtracted, times 255)."""
    bgr = rgb[:, [2, 1, 0]]
    means = torch.tensor(BGR_MEANS, dtype=bgr.dtype, device=bgr.device).view(1, 3, 1, 1)
    return (bgr - means) * 255


def normalize_features(x: torch.Tensor) -> torch.Tensor:
    """Divides every position's channel vector by its L2 norm (plus :data:`FEATURE_EPS`)."""
    return x / (torch.norm(x, 2, 1, keepdim=True) + FEATURE_EPS)


class VGG19Trunk(nn.Module):
    """The 16 convolutions of VGG19 (``conv{block}_{i}``); conv5_3 and conv5_4 are loaded but never run."""

    def __init__(self) -> None:
        super().__init__()
        for block, (c_in, c_out, convs) in enumerate(_BLOCKS, start=1):
            for i in range(1, convs + 1):
                self.add_module(f"conv{block}_{i}", nn.Conv2d(c_in if i == 1 else c_out, c_out, 3, padding=1))

    def _convs(self, x: torch.Tensor, block: int, first: int, last: int) -> torch.Tensor:
        for i in range(first, last + 1):
            x = F.relu(getattr(self, f"conv{block}_{i}")(x))
        return x

    def forward(self, rgb: torch.Tensor) -> VGGFeatures:
        """``B x 3 x H x W`` RGB in [0, 1] -> the raw (not normalised) ReLU features r22, r32, r42, r52."""
        r12 = self._convs(caffe_input(rgb), 1, 1, 2)
        r22 = self._convs(F.max_pool2d(r12, 2, 2), 2, 1, 2)
        r32 = self._convs(F.max_pool2d(r22, 2, 2), 3, 1, 2)
        r34 = self._convs(r32, 3, 3, 4)
        r42 = self._convs(F.max_pool2d(r34, 2, 2), 4, 1, 2)
        r44 = self._convs(r42, 4, 3, 4)
        r52 = self._convs(F.max_pool2d(r44, 2, 2), 5, 1, 2)
        return VGGFeatures(r22, r32, r42, r52)

    def normalized(self, rgb: torch.Tensor) -> VGGFeatures:
        """:meth:`forward` with every map L2-normalised over its channels."""
        return VGGFeatures(*(normalize_features(f) for f in self(rgb)))
