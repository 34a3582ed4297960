"""ResNet trunks of the key encoder (ResNet-50 up to layer3) and the value encoder (ResNet-18 up to layer3).

Written to produce torchvision's parameter names (``conv1``, ``bn1``, ``downsample.0/1``) so checkpoints load as
they are. Only inference is supported: BatchNorm always uses its running statistics.
"""

from __future__ import annotations

import torch
from torch import nn


def _shortcut(in_dim: int, out_dim: int, stride: int) -> nn.Module:
    if stride == 1 and in_dim == out_dim:
        return nn.Identity()
    return nn.Sequential(nn.Conv2d(in_dim, out_dim, 1, stride=stride, bias=False), nn.BatchNorm2d(out_dim))


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv), expansion 4."""

    expansion = 4

    def __init__(self, in_dim: int, mid_dim: int, stride: int = 1) -> None:
        super().__init__()
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
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


class BasicBlock(nn.Module):
    """ResNet-18 basic block (two 3x3 convs)."""

    expansion = 1

    def __init__(self, in_dim: int, out_dim: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_dim, out_dim, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_dim)
        self.conv2 = nn.Conv2d(out_dim, out_dim, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_dim)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_dim, out_dim, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


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
