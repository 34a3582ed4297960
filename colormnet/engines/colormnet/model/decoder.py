"""Decoder: memory readout + hidden state + skip features -> per-object chroma logits.

Legend: ``O = 2`` objects (a, b); ``R`` the memory readout ``B x O x 512 x h x w``.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from colormnet.engines.colormnet.model.blocks import FusionBlock, GroupResBlock, HiddenUpdater, grouped, upsample_groups
from colormnet.engines.colormnet.model.rewrites import conv_by_taps
from colormnet.engines.colormnet.model.winograd import WinogradConv2d


class UpsampleBlock(nn.Module):
    """x2 upsampling of grouped features plus a shared skip connection, then a residual block."""

    def __init__(self, skip_dim: int, g_dim: int, out_dim: int) -> None:
        super().__init__()
        self.skip_conv = WinogradConv2d(skip_dim, g_dim)
        self.out_conv = GroupResBlock(g_dim, out_dim)

    def forward(self, skip: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        g = upsample_groups(g, 2) + self.skip_conv(skip).unsqueeze(1)
        return self.out_conv(g)


class Decoder(nn.Module):
    """Decodes the memory readout into chroma logits at the padded frame size."""

    def __init__(self, value_dim: int = 512, hidden_dim: int = 64) -> None:
        super().__init__()
        self.fast = True  # the 1-channel prediction by its taps on the CPU (rewrites.conv_by_taps)
        self.fuser = FusionBlock(1024, value_dim + hidden_dim, 512, 512)
        self.hidden_update = HiddenUpdater((512, 256, 256 + 1), 256, hidden_dim)
        self.up_16_8 = UpsampleBlock(512, 512, 256)
        self.up_8_4 = UpsampleBlock(256, 256, 256)
        self.pred = nn.Conv2d(256, 1, 3, padding=1)

    def forward(
        self,
        f16: torch.Tensor,
        f8: torch.Tensor,
        f4: torch.Tensor,
        readout: torch.Tensor,
        hidden: torch.Tensor,
        update_hidden: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns the new hidden state (the input one unless ``update_hidden``) and logits ``B x O x Hp x Wp``."""
        b, o = readout.shape[:2]
        g16 = self.fuser(f16, torch.cat([readout, hidden], dim=2))  # B x O x 512 x h x w
        g8 = self.up_16_8(f8, g16)  # B x O x 256 x 2h x 2w
        g4 = self.up_8_4(f4, g8)  # B x O x 256 x 4h x 4w
        pred = partial(conv_by_taps, self.pred) if self.fast and g4.device.type == "cpu" else self.pred
        logits = grouped(pred, F.relu(g4))  # B x O x 1 x 4h x 4w
        if update_hidden:
            hidden = self.hidden_update(g16, g8, torch.cat([g4, logits], dim=2), hidden)
        logits = logits.view(b, o, *logits.shape[-2:])
        logits = F.interpolate(logits, scale_factor=4, mode="bilinear", align_corners=False)
        return hidden, logits
