"""The colorization subnet (``colornet_iter_76000.pth``): predicts the frame's ab from its L, the warped colours,
the similarity map and the previous frame's Lab.

Legend (network input ``H x W``, default 216 x 384): ``s1`` / ``s2`` / ``s3`` are the instance-normalised skip
features at strides 1, 2, 4; the bottleneck runs at stride 8. Down-sampling is a bias-free depthwise 1x1 conv of
stride 2 (``*norm_ss``); up-sampling a nearest x2 followed by a 3x3 conv (``conv8_1.1`` ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AB_RANGE", "ColorizationNet"]

AB_RANGE = 128.0  # the head is tanh(.) * AB_RANGE


def _conv(c_in: int, c_out: int, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation)


def _up_conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Upsample(scale_factor=2), _conv(c_in, c_out))


def _down(channels: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 1, stride=2, groups=channels, bias=False)


class ColorizationNet(nn.Module):
    """The official "ColorVidNet" at inference (its BatchNorm and transposed convs were replaced before training)."""

    def __init__(self, in_channels: int = 7) -> None:
        super().__init__()
        self.conv1_1 = nn.Sequential(_conv(in_channels, 32), nn.ReLU(), _conv(32, 64))
        self.conv1_2 = _conv(64, 64)
        self.conv1_2norm_ss = _down(64)
        self.conv2_1, self.conv2_2 = _conv(64, 128), _conv(128, 128)
        self.conv2_2norm_ss = _down(128)
        self.conv3_1, self.conv3_2, self.conv3_3 = _conv(128, 256), _conv(256, 256), _conv(256, 256)
        self.conv3_3norm_ss = _down(256)
        self.conv4_1, self.conv4_2, self.conv4_3 = _conv(256, 512), _conv(512, 512), _conv(512, 512)
        self.conv5_1, self.conv5_2, self.conv5_3 = (_conv(512, 512, 2) for _ in range(3))
        self.conv6_1, self.conv6_2, self.conv6_3 = (_conv(512, 512, 2) for _ in range(3))
        self.conv7_1, self.conv7_2, self.conv7_3 = (_conv(512, 512) for _ in range(3))
        self.conv8_1 = _up_conv(512, 256)
        self.conv3_3_short = _conv(256, 256)
        self.conv8_2, self.conv8_3 = _conv(256, 256), _conv(256, 256)
        self.conv9_1 = _up_conv(256, 128)
        self.conv2_2_short = _conv(128, 128)
        self.conv9_2 = _conv(128, 128)
        self.conv10_1 = _up_conv(128, 128)
        self.conv1_2_short = _conv(64, 128)
        self.conv10_2 = _conv(128, 128)
        self.conv10_ab = nn.Conv2d(128, 2, 1)

    def _stage(self, x: torch.Tensor, *names: str) -> torch.Tensor:
        """Each named conv followed by a ReLU, then an instance norm."""
        for name in names:
            x = F.relu(getattr(self, name)(x))
        return F.instance_norm(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``1 x 7 x H x W`` [L, warped a, b, similarity, previous L, a, b] (centred Lab) -> ``1 x 2 x H x W`` ab."""
        s1 = self._stage(F.relu(self.conv1_1(x)), "conv1_2")  # H
        s2 = self._stage(self.conv1_2norm_ss(s1), "conv2_1", "conv2_2")  # H/2
        s3 = self._stage(self.conv2_2norm_ss(s2), "conv3_1", "conv3_2", "conv3_3")  # H/4
        x = self._stage(self.conv3_3norm_ss(s3), "conv4_1", "conv4_2", "conv4_3")  # H/8
        x = self._stage(x, "conv5_1", "conv5_2", "conv5_3")
        x = self._stage(x, "conv6_1", "conv6_2", "conv6_3")
        x = self._stage(x, "conv7_1", "conv7_2", "conv7_3")
        x = F.relu(self.conv8_1(x) + self.conv3_3_short(s3))  # H/4
        x = self._stage(x, "conv8_2", "conv8_3")
        x = F.relu(self.conv9_1(x) + self.conv2_2_short(s2))  # H/2
        x = self._stage(x, "conv9_2")
        x = F.relu(self.conv10_1(x) + self.conv1_2_short(s1))  # H
        x = F.leaky_relu(self.conv10_2(x), 0.2)
        return torch.tanh(self.conv10_ab(x)) * AB_RANGE
