"""Value encoder: a ResNet-18 trunk over ``[L', L', L', own chroma, other chroma]`` per object, fused with f16.

Legend: objects are the a and b chroma channels (``O = 2``); ``h x w`` is the /16 grid.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.blocks import FusionBlock, HiddenReinforcer
from colormnet.engines.colormnet.model.resnet import basic_layer
from colormnet.engines.colormnet.model.rewrites import conv_bn, gray_kernels


class ValueEncoder(nn.Module):
    """Encodes a frame and its chroma into per-object memory values, optionally reinforcing the hidden state."""

    def __init__(self, value_dim: int = 512, hidden_dim: int = 64) -> None:
        super().__init__()
        self.fast = True
        self.conv1 = nn.Conv2d(5, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = basic_layer(64, 64, 2, stride=1)
        self.layer2 = basic_layer(64, 128, 2, stride=2)
        self.layer3 = basic_layer(128, 256, 2, stride=2)
        self.fuser = FusionBlock(1024, 256, value_dim, value_dim)
        self.hidden_reinforce = HiddenReinforcer(value_dim, hidden_dim)

    def forward(
        self, image: torch.Tensor, f16: torch.Tensor, hidden: torch.Tensor, chroma: torch.Tensor, deep_update: bool
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Args:
            image: ``B x 3 x Hp x Wp`` (L' repeated), or the ``B x 1 x Hp x Wp`` plane itself.
            f16: ``B x 1024 x h x w`` key features of the same image.
            hidden: ``B x O x C_h x h x w``.
            chroma: ``B x 2 x Hp x Wp`` normalised a', b'.
            deep_update: reinforce the hidden state from the new value.

        Returns:
            value ``B x O x C_v x h x w`` and the (possibly updated) hidden state.
        """
        b = image.shape[0]
        if image.shape[1] == 1 and not self.fast:
            image = image.expand(-1, 3, -1, -1)
        own_other = torch.stack([chroma, chroma.flip(1)], dim=1)  # B x O x 2 x Hp x Wp: [a, b] and [b, a]
        planes = image.unsqueeze(1).expand(-1, 2, -1, -1, -1).flatten(0, 1)  # (B*O) x 3 (or 1) x Hp x Wp
        inputs = torch.cat([planes, own_other.flatten(0, 1)], dim=1)  # [L' x3 (or x1), own, other]
        if self.fast and inputs.device.type == "cpu":  # the trunk runs channels-last, as the key encoder's does
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        if self.fast:
            weight = self.conv1.weight if image.shape[1] == 3 else gray_kernels(self.conv1)
            g = conv_bn(self.conv1, self.bn1, inputs, weight)
        else:
            g = self.bn1(self.conv1(inputs))
        g = self.maxpool(F.relu(g))
        g = self.layer3(self.layer2(self.layer1(g))).contiguous()  # (B*O) x 256 x h x w, row-major again
        if g.shape[-2:] != f16.shape[-2:]:
            g = F.interpolate(g, size=f16.shape[-2:], mode="bilinear", align_corners=False)
        value = self.fuser(f16, g.view(b, 2, *g.shape[1:]))
        if deep_update:
            hidden = self.hidden_reinforce(value, hidden)
        return value, hidden
