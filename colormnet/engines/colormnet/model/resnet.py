"""ResNet trunks of the key encoder (ResNet-50 up to layer3) and the value encoder (ResNet-18 up to layer3).

Written to produce torchvision's parameter names (``conv1``, ``bn1``, ``downsample.0/1``) so checkpoints load as
they are. Only inference is supported: BatchNorm always uses its running statistics, and the fast path folds it
into the convolution before it (:func:`~colormnet.engines.colormnet.model.rewrites.conv_bn`).
"""

from __future__ import annotations

import torch
from torch import nn

from colormnet.engines.colormnet.model.rewrites import conv_bn


def _shortcut(in_dim: int, out_dim: int, stride: int) -> nn.Module:
    if stride == 1 and in_dim == out_dim:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False), nn.BatchNorm2d(out_dim))


def _apply_shortcut(shortcut: nn.Module, x: torch.Tensor, fast: bool) -> torch.Tensor:
    if fast and isinstance(shortcut, nn.Sequential):
        return conv_bn(shortcut[0], shortcut[1], x)  # type: ignore[arg-type]
    return shortcut(x)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv), expansion 4."""

    expansion = 4

    def __init__(self, in_dim: int, mid_dim: int, stride: int = 1) -> None:
        super().__init__()
        self.fast = True  # batch norms folded into the convolutions
        out_dim = mid_dim * self.expansion
        self.conv1 = nn.Conv2d(in_dim, mid_dim, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_dim)
        self.conv2 = nn.Conv2d(mid_dim, mid_dim, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_dim)
        self.conv3 = nn.Conv2d(mid_dim, out_dim, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_dim)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_dim, out_dim, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast:
            out = self.relu(conv_bn(self.conv1, self.bn1, x))
            out = self.relu(conv_bn(self.conv2, self.bn2, out))
            out = conv_bn(self.conv3, self.bn3, out)
        else:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
        return self.relu(out + _apply_shortcut(self.downsample, x, self.fast))


class BasicBlock(nn.Module):
    """ResNet-18 basic block (two 3x3 convs)."""

    expansion = 1

    def __init__(self, in_dim: int, out_dim: int, stride: int = 1) -> None:
        super().__init__()
        self.fast = True  # batch norms folded into the convolutions
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_dim)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_dim)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_dim, out_dim, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fast:
            out = conv_bn(self.conv2, self.bn2, self.relu(conv_bn(self.conv1, self.bn1, x)))
        else:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + _apply_shortcut(self.downsample, x, self.fast))


def bottleneck_layer(in_dim: int, mid_dim: int, blocks: int, stride: int) -> nn.Sequential:
    """A stage of ``blocks`` bottlenecks; the first one changes stride and width."""
    layers = [Bottleneck(in_dim, mid_dim, stride)]
    layers += [Bottleneck(mid_dim * Bottleneck.expansion, mid_dim) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def basic_layer(in_dim: int, out_dim: int, blocks: int, stride: int) -> nn.Sequential:
    """A stage of ``blocks`` basic blocks; the first one changes stride and width."""
    layers = [BasicBlock(in_dim, out_dim, stride)]
    layers += [BasicBlock(out_dim, out_dim) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)
